terraform {
  required_version = ">= 1.6.0, < 2.0.0"
  # Partial configuration: `terraform init -backend-config=../../environments/<env>/aws/backend.hcl`
  # (scripts/deploy.sh does) names each environment's state bucket, key and lock table.
  backend "s3" {}
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "~> 2.17"
    }
    kubectl = {
      source  = "alekc/kubectl"
      version = "~> 2.1"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
}
