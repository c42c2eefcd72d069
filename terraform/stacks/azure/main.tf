# StreamHouse on Azure: the modules of terraform/modules/azure wired together, then the
# cluster's platform (External Secrets, Argo CD) and monitoring. One root for every
# environment; terraform/environments/<env>/azure holds what differs.

provider "azurerm" {
  subscription_id = var.subscription_id
  features {}
}

locals {
  name = "streamhouse-${var.environment}"
  tags = { project = "streamhouse", environment = var.environment, managed-by = "terraform" }
}

resource "azurerm_resource_group" "this" {
  name     = local.name
  location = var.location
  tags     = local.tags
}

module "network" {
  source              = "../../modules/azure/network"
  name                = local.name
  resource_group_name = azurerm_resource_group.this.name
  location            = var.location
  cidr                = var.cidr
  tags                = local.tags
}

module "cluster" {
  source               = "../../modules/azure/cluster"
  name                 = local.name
  resource_group_name  = azurerm_resource_group.this.name
  location             = var.location
  private_subnet_ids   = module.network.private_subnet_ids
  api_authorized_cidrs = var.api_authorized_cidrs
  agent_nodes          = var.agent_nodes
  tags                 = local.tags
}

module "bucket" {
  source              = "../../modules/azure/bucket"
  account_name        = var.storage_account_name
  resource_group_name = azurerm_resource_group.this.name
  location            = var.location
  replication_type    = var.storage_replication
  private_subnet_ids  = module.network.private_subnet_ids
  cold_after_days     = var.cold_after_days
  tags                = local.tags
}

module "identity" {
  source              = "../../modules/azure/identity"
  name                = local.name
  resource_group_name = azurerm_resource_group.this.name
  location            = var.location
  oidc_issuer_url     = module.cluster.oidc_issuer_url
  bucket_id           = module.bucket.bucket_id
  private_subnet_ids  = module.network.private_subnet_ids
  admin_object_ids    = var.admin_object_ids
  tags                = local.tags
}

module "database" {
  source              = "../../modules/azure/database"
  name                = local.name
  resource_group_name = azurerm_resource_group.this.name
  location            = var.location
  network_id          = module.network.network_id
  database_subnet_ids = module.network.database_subnet_ids
  sku_name            = var.database_sku
  readers             = var.database_readers
  key_vault_id        = module.identity.key_vault_id
  tags                = local.tags
}

# Helm signs in with the caller's Entra ID token through kubelogin (local accounts are off).
provider "helm" {
  kubernetes {
    host                   = module.cluster.cluster_endpoint
    cluster_ca_certificate = module.cluster.cluster_ca_certificate
    exec {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "kubelogin"
      args        = ["get-token", "--login", "azurecli", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"]
    }
  }
}

module "platform" {
  source                       = "../../modules/platform"
  external_secrets_annotations = { "azure.workload.identity/client-id" = module.identity.secrets_identity }
  external_secrets_pod_labels  = { "azure.workload.identity/use" = "true" }
  depends_on                   = [module.cluster]
}

module "monitoring" {
  source                = "../../modules/monitoring"
  storage_class         = "managed-csi-premium"
  alertmanager_receiver = var.alertmanager_receiver
  depends_on            = [module.cluster]
}
