output "bucket_name" {
  description = "The container agents write to ([object_store] container)."
  value       = azurerm_storage_container.this.name
}

output "account_name" {
  description = "The storage account ([object_store] account)."
  value       = azurerm_storage_account.this.name
}

output "bucket_id" {
  description = "The container's resource id, the scope of the agents' role assignment."
  value       = azurerm_storage_container.this.id
}
