terraform {
  required_version = ">= 1.6.0, < 2.0.0"
  # Partial configuration: `terraform init -backend-config=../../environments/<env>/gcp/backend.hcl`
  # (scripts/deploy.sh does) names each environment's state bucket and prefix.
  backend "gcs" {}
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.14"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "~> 2.17"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
}
