# Azure Workload Identity: user-assigned identities federated with the cluster's service
# accounts. The agents' may read and write blobs of the records container only; the External
# Secrets Operator's may read the Key Vault's secrets only. The Key Vault and the agents'
# cluster secret are made here too.

data "azurerm_client_config" "current" {}

resource "azurerm_user_assigned_identity" "this" {
  for_each            = toset(["agent", "secrets"])
  name                = "${var.name}-${each.key}"
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags
}

resource "azurerm_federated_identity_credential" "this" {
  for_each = {
    agent   = "system:serviceaccount:${var.namespace}:streamhouse-agent"
    secrets = "system:serviceaccount:external-secrets:external-secrets"
  }
  name                = each.key
  resource_group_name = var.resource_group_name
  parent_id           = azurerm_user_assigned_identity.this[each.key].id
  audience            = ["api://AzureADTokenExchange"]
  issuer              = var.oidc_issuer_url
  subject             = each.value
}

resource "azurerm_role_assignment" "agent_blobs" {
  scope                = var.bucket_id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_user_assigned_identity.this["agent"].principal_id
}

resource "azurerm_key_vault" "this" {
  name                          = "${var.name}-kv"
  resource_group_name           = var.resource_group_name
  location                      = var.location
  tenant_id                     = data.azurerm_client_config.current.tenant_id
  sku_name                      = "standard"
  enable_rbac_authorization     = true
  purge_protection_enabled      = true
  soft_delete_retention_days    = 30
  public_network_access_enabled = true
  network_acls {
    default_action             = "Deny"
    bypass                     = "AzureServices"
    virtual_network_subnet_ids = var.private_subnet_ids
  }
  tags = var.tags
}

resource "azurerm_role_assignment" "secrets_reader" {
  scope                = azurerm_key_vault.this.id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_user_assigned_identity.this["secrets"].principal_id
}

resource "azurerm_role_assignment" "secrets_admin" {
  for_each             = toset(var.admin_object_ids)
  scope                = azurerm_key_vault.this.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = each.key
}

resource "random_password" "cluster" {
  length  = 64
  special = false
}

resource "azurerm_key_vault_secret" "cluster" {
  name            = "streamhouse-cluster-secret"
  key_vault_id    = azurerm_key_vault.this.id
  value           = random_password.cluster.result
  content_type    = "text/plain"
  expiration_date = timeadd(plantimestamp(), "8760h")
  lifecycle {
    ignore_changes = [expiration_date]
  }
  depends_on = [azurerm_role_assignment.secrets_admin]
}
