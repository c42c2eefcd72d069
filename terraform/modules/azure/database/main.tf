# Azure Database for PostgreSQL Flexible Server with zone-redundant HA (a synchronous standby
# in another zone), a private address in the delegated subnet, 30 days of backups with
# point-in-time recovery (geo-redundant optional) and read replicas. The agents reach it
# through PgBouncer with the password stored in Key Vault.

resource "azurerm_private_dns_zone" "this" {
  name                = "${var.name}.private.postgres.database.azure.com"
  resource_group_name = var.resource_group_name
  tags                = var.tags
}

resource "azurerm_private_dns_zone_virtual_network_link" "this" {
  name                  = var.name
  resource_group_name   = var.resource_group_name
  private_dns_zone_name = azurerm_private_dns_zone.this.name
  virtual_network_id    = var.network_id
  tags                  = var.tags
}

resource "random_password" "this" {
  length  = 40
  special = false
}

resource "azurerm_postgresql_flexible_server" "this" {
  name                          = var.name
  resource_group_name           = var.resource_group_name
  location                      = var.location
  version                       = var.postgres_version
  sku_name                      = var.sku_name
  storage_mb                    = var.storage_mb
  auto_grow_enabled             = true
  delegated_subnet_id           = var.database_subnet_ids[0]
  private_dns_zone_id           = azurerm_private_dns_zone.this.id
  public_network_access_enabled = false
  administrator_login           = "streamhouse"
  administrator_password        = random_password.this.result
  backup_retention_days         = var.backup_retention_days
  geo_redundant_backup_enabled  = var.geo_redundant_backup
  zone                          = "1"

  high_availability {
    mode                      = "ZoneRedundant"
    standby_availability_zone = "2"
  }

  tags       = var.tags
  depends_on = [azurerm_private_dns_zone_virtual_network_link.this]
}

resource "azurerm_postgresql_flexible_server_database" "this" {
  name      = "streamhouse"
  server_id = azurerm_postgresql_flexible_server.this.id
  collation = "en_US.utf8"
  charset   = "UTF8"
}

resource "azurerm_postgresql_flexible_server_configuration" "this" {
  for_each = {
    log_min_duration_statement = "1000"
    log_checkpoints            = "on"
    log_connections            = "on"
    require_secure_transport   = "on"
  }
  name      = each.key
  server_id = azurerm_postgresql_flexible_server.this.id
  value     = each.value
}

resource "azurerm_postgresql_flexible_server" "reader" {
  count               = var.readers
  name                = "${var.name}-reader-${count.index}"
  resource_group_name = var.resource_group_name
  location            = var.location
  create_mode         = "Replica"
  source_server_id    = azurerm_postgresql_flexible_server.this.id
  version             = var.postgres_version
  sku_name            = var.sku_name
  storage_mb          = var.storage_mb
  delegated_subnet_id = var.database_subnet_ids[0]
  private_dns_zone_id = azurerm_private_dns_zone.this.id
  zone                = tostring((count.index % 3) + 1)
  tags                = var.tags
}

# Read by the External Secrets Operator into the streamhouse-metadata Secret.
resource "azurerm_key_vault_secret" "metadata" {
  name         = "streamhouse-metadata"
  key_vault_id = var.key_vault_id
  content_type = "application/json"
  value = jsonencode({
    url      = "postgres://streamhouse:${random_password.this.result}@${var.pgbouncer_url_host}:5432/streamhouse"
    host     = azurerm_postgresql_flexible_server.this.fqdn
    port     = "5432"
    dbname   = "streamhouse"
    username = "streamhouse"
    password = random_password.this.result
  })
  expiration_date = timeadd(plantimestamp(), "8760h")
  lifecycle {
    ignore_changes = [expiration_date]
  }
}
