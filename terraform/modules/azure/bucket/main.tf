# The records container in a zone-redundant StorageV2 account: no public access, no shared
# keys (agents use Workload Identity), TLS 1.2, versioning, and a lifecycle moving cold blobs
# to Cool (and Cold) and deleting old versions. Blob Storage has no multipart uploads to
# abort: uncommitted blocks of a killed agent's upload are discarded by Azure after 7 days.

resource "azurerm_storage_account" "this" {
  name                            = var.account_name
  resource_group_name             = var.resource_group_name
  location                        = var.location
  account_kind                    = "StorageV2"
  account_tier                    = "Standard"
  account_replication_type        = var.replication_type
  min_tls_version                 = "TLS1_2"
  https_traffic_only_enabled      = true
  allow_nested_items_to_be_public = false
  shared_access_key_enabled       = false
  public_network_access_enabled   = true
  default_to_oauth_authentication = true

  blob_properties {
    versioning_enabled = true
    delete_retention_policy {
      days = var.old_version_days
    }
    container_delete_retention_policy {
      days = 30
    }
  }

  network_rules {
    default_action             = "Deny"
    bypass                     = ["AzureServices", "Logging", "Metrics"]
    virtual_network_subnet_ids = var.private_subnet_ids
  }

  dynamic "customer_managed_key" {
    for_each = var.customer_managed_key_id == "" ? [] : [1]
    content {
      key_vault_key_id          = var.customer_managed_key_id
      user_assigned_identity_id = azurerm_user_assigned_identity.cmk[0].id
    }
  }

  dynamic "identity" {
    for_each = var.customer_managed_key_id == "" ? [] : [1]
    content {
      type         = "UserAssigned"
      identity_ids = [azurerm_user_assigned_identity.cmk[0].id]
    }
  }

  tags = var.tags
}

resource "azurerm_user_assigned_identity" "cmk" {
  count               = var.customer_managed_key_id == "" ? 0 : 1
  name                = "${var.account_name}-cmk"
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags
}

resource "azurerm_storage_container" "this" {
  name                  = var.container_name
  storage_account_id    = azurerm_storage_account.this.id
  container_access_type = "private"
}

resource "azurerm_storage_management_policy" "this" {
  storage_account_id = azurerm_storage_account.this.id
  rule {
    name    = "tiering"
    enabled = true
    filters {
      blob_types   = ["blockBlob"]
      prefix_match = ["${var.container_name}/"]
    }
    actions {
      base_blob {
        tier_to_cool_after_days_since_modification_greater_than = var.cool_after_days
        tier_to_cold_after_days_since_modification_greater_than = var.cold_after_days > 0 ? var.cold_after_days : null
      }
      version {
        delete_after_days_since_creation = var.old_version_days
      }
    }
  }
}
