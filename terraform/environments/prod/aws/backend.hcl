# Remote state of prod on AWS: an S3 bucket (versioned, encrypted) made once per account
# before the first `terraform init`, with S3's native lock file (Terraform 1.10+).
bucket       = "streamhouse-terraform-state-111111111111"
key          = "prod/aws/terraform.tfstate"
region       = "us-east-1"
encrypt      = true
use_lockfile = true
