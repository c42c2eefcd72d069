output "agent_identity" {
  description = "The agents' client id (azure.workload.identity/client-id of streamhouse-agent)."
  value       = azurerm_user_assigned_identity.this["agent"].client_id
}

output "control_plane_identity" {
  description = "The control plane needs no Azure identity (it signs in to PgBouncer with the password); empty."
  value       = ""
}

output "secrets_identity" {
  description = "The External Secrets Operator's client id."
  value       = azurerm_user_assigned_identity.this["secrets"].client_id
}

output "key_vault_id" {
  description = "The Key Vault holding StreamHouse's secrets."
  value       = azurerm_key_vault.this.id
}

output "key_vault_url" {
  description = "The Key Vault's URL (the ClusterSecretStore's vaultUrl)."
  value       = azurerm_key_vault.this.vault_uri
}
