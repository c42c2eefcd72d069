# Remote state of prod on Azure: a blob container made once per subscription before the first
# `terraform init`; blob leases lock the state.
resource_group_name  = "streamhouse-terraform"
storage_account_name = "shtfstateprod"
container_name       = "tfstate"
key                  = "prod/azure/terraform.tfstate"
use_azuread_auth     = true
