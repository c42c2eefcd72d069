terraform {
  required_version = ">= 1.6.0, < 2.0.0"
  # Partial configuration: `terraform init -backend-config=../../environments/<env>/azure/backend.hcl`
  # (scripts/deploy.sh does) names each environment's storage account, container and key.
  backend "azurerm" {}
  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.14"
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
