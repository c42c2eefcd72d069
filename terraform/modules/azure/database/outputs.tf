output "endpoint" {
  description = "The primary's private host name."
  value       = azurerm_postgresql_flexible_server.this.fqdn
}

output "reader_endpoint" {
  description = "The first read replica's host name; empty without replicas."
  value       = var.readers > 0 ? azurerm_postgresql_flexible_server.reader[0].fqdn : ""
}

output "port" {
  description = "PostgreSQL's port."
  value       = 5432
}

output "database_name" {
  description = "The database StreamHouse uses."
  value       = azurerm_postgresql_flexible_server_database.this.name
}

output "username" {
  description = "The user of the agents and the control plane."
  value       = azurerm_postgresql_flexible_server.this.administrator_login
}

output "secret_name" {
  description = "The Key Vault secret External Secrets reads (streamhouse-metadata)."
  value       = azurerm_key_vault_secret.metadata.name
}

output "server_id" {
  description = "The Flexible Server, for point-in-time restores (docs/deploy.md)."
  value       = azurerm_postgresql_flexible_server.this.id
}
