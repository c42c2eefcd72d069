# StreamHouse on Google Cloud: the modules of terraform/modules/gcp wired together, then the
# cluster's platform (External Secrets, Argo CD) and monitoring. One root for every
# environment; terraform/environments/<env>/gcp holds what differs.

provider "google" {
  project = var.project_id
  region  = var.region
}

locals {
  name   = "streamhouse-${var.environment}"
  labels = { project = "streamhouse", environment = var.environment, managed-by = "terraform" }
}

module "network" {
  source     = "../../modules/gcp/network"
  name       = local.name
  project_id = var.project_id
  region     = var.region
  cidr       = var.cidr
}

module "cluster" {
  source                  = "../../modules/gcp/cluster"
  name                    = local.name
  project_id              = var.project_id
  region                  = var.region
  network_id              = module.network.network_id
  private_subnet_ids      = module.network.private_subnet_ids
  master_authorized_cidrs = var.master_authorized_cidrs
  agent_nodes_per_zone    = var.agent_nodes_per_zone
  labels                  = local.labels
}

module "database" {
  source              = "../../modules/gcp/database"
  name                = local.name
  project_id          = var.project_id
  region              = var.region
  network_id          = module.network.network_id
  database_connection = module.network.database_connection
  tier                = var.database_tier
  readers             = var.database_readers
  deletion_protection = var.deletion_protection
  labels              = local.labels
}

module "bucket" {
  source              = "../../modules/gcp/bucket"
  name                = var.bucket_name
  project_id          = var.project_id
  location            = var.bucket_location
  coldline_after_days = var.coldline_after_days
  force_destroy       = var.environment == "dev"
  labels              = local.labels
}

module "identity" {
  source             = "../../modules/gcp/identity"
  name               = local.name
  project_id         = var.project_id
  workload_pool      = module.cluster.workload_pool
  bucket_id          = module.bucket.bucket_id
  metadata_secret_id = module.database.secret_id
  labels             = local.labels
}

data "google_client_config" "current" {}

provider "helm" {
  kubernetes {
    host                   = module.cluster.cluster_endpoint
    cluster_ca_certificate = module.cluster.cluster_ca_certificate
    token                  = data.google_client_config.current.access_token
  }
}

module "platform" {
  source                       = "../../modules/platform"
  external_secrets_annotations = { "iam.gke.io/gcp-service-account" = module.identity.secrets_identity }
  depends_on                   = [module.cluster]
}

module "monitoring" {
  source                = "../../modules/monitoring"
  storage_class         = "premium-rwo"
  alertmanager_receiver = var.alertmanager_receiver
  depends_on            = [module.cluster]
}
