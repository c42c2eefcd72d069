# What scripts/deploy.sh writes into kustomize/overlays/<env>-azure (deploy.env, streamhouse.env).

output "cluster_name" {
  description = "The AKS cluster (az aks get-credentials)."
  value       = module.cluster.cluster_name
}

output "resource_group" {
  description = "The resource group of everything."
  value       = azurerm_resource_group.this.name
}

output "storage_account" {
  description = "The records storage account (STREAMHOUSE_OBJECT_STORE__ACCOUNT)."
  value       = module.bucket.account_name
}

output "bucket_name" {
  description = "The records container (STREAMHOUSE_OBJECT_STORE__CONTAINER)."
  value       = module.bucket.bucket_name
}

output "agent_identity" {
  description = "The agents' client id (AGENT_CLIENT_ID)."
  value       = module.identity.agent_identity
}

output "key_vault_url" {
  description = "The Key Vault (KEY_VAULT_URL)."
  value       = module.identity.key_vault_url
}

output "database_server_id" {
  description = "The Flexible Server, for point-in-time restores."
  value       = module.database.server_id
}
