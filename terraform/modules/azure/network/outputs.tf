output "network_id" {
  description = "The VNet's id."
  value       = azurerm_virtual_network.this.id
}

output "cidr" {
  description = "The VNet's address space."
  value       = var.cidr
}

output "public_subnet_ids" {
  description = "The public subnet (Azure subnets span the three zones)."
  value       = [azurerm_subnet.public.id]
}

output "private_subnet_ids" {
  description = "The AKS nodes' subnet."
  value       = [azurerm_subnet.private.id]
}

output "database_subnet_ids" {
  description = "The subnet delegated to PostgreSQL Flexible Server."
  value       = [azurerm_subnet.database.id]
}
