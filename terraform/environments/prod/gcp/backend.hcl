# Remote state of prod on Google Cloud: a GCS bucket (versioned) made once per project before
# the first `terraform init`; GCS locks the state itself.
bucket = "streamhouse-prod-terraform-state"
prefix = "prod/gcp"
