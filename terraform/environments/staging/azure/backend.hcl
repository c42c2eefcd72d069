# Remote state of staging on Azure: a blob container made once per subscription before the first
# `terraform init`; blob leases lock the state.
resource_group_name  = "streamhouse-terraform"
storage_account_name = "shtfstatestaging"
container_name       = "tfstate"
key                  = "staging/azure/terraform.tfstate"
use_azuread_auth     = true
