# Remote state of dev on Google Cloud: a GCS bucket (versioned) made once per project before
# the first `terraform init`; GCS locks the state itself.
bucket = "streamhouse-dev-terraform-state"
prefix = "dev/gcp"
