# Remote state of staging on Google Cloud: a GCS bucket (versioned) made once per project before
# the first `terraform init`; GCS locks the state itself.
bucket = "streamhouse-staging-terraform-state"
prefix = "staging/gcp"
