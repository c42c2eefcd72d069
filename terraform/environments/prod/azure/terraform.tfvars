# prod on Azure. Everything else is the stack's default (terraform/stacks/azure/variables.tf).
environment          = "prod"
subscription_id      = "00000000-0000-0000-0000-000000000000"
location             = "eastus2"
storage_account_name = "streamhouseprodrec"
admin_object_ids     = ["00000000-0000-0000-0000-000000000000"]

api_authorized_cidrs = ["203.0.113.0/24"]
agent_nodes          = { min = 3, max = 30 }
database_sku         = "GP_Standard_D8ds_v5"
database_readers     = 2
storage_replication  = "GZRS"
cold_after_days      = 180
