# StreamHouse on AWS: the modules of terraform/modules/aws wired together, then the
# cluster's platform (External Secrets, Argo CD) and monitoring. One root for every
# environment; terraform/environments/<env>/aws holds what differs.

provider "aws" {
  region = var.region
  default_tags {
    tags = local.tags
  }
}

data "aws_availability_zones" "available" {
  state = "available"
}

locals {
  name  = "streamhouse-${var.environment}"
  zones = slice(sort(data.aws_availability_zones.available.names), 0, 3)
  tags  = { project = "streamhouse", environment = var.environment, managed-by = "terraform" }
}

module "network" {
  source             = "../../modules/aws/network"
  name               = local.name
  cidr               = var.cidr
  zones              = local.zones
  single_nat_gateway = var.single_nat_gateway
  cluster_name       = local.name
  tags               = local.tags
}

module "cluster" {
  source              = "../../modules/aws/cluster"
  name                = local.name
  kubernetes_version  = var.kubernetes_version
  network_id          = module.network.network_id
  private_subnet_ids  = module.network.private_subnet_ids
  public_access_cidrs = var.public_access_cidrs
  system_nodes        = var.system_nodes
  agent_nodes         = var.agent_nodes
  karpenter_cpu_limit = var.karpenter_cpu_limit
  tags                = local.tags
}

module "database" {
  source                    = "../../modules/aws/database"
  name                      = local.name
  engine                    = var.database_engine
  instance_class            = var.database_instance_class
  serverless_v2             = var.database_serverless_v2
  readers                   = var.database_readers
  network_id                = module.network.network_id
  database_subnet_ids       = module.network.database_subnet_ids
  client_security_group_ids = [module.cluster.node_security_group_id]
  deletion_protection       = var.deletion_protection
  tags                      = local.tags
}

resource "aws_kms_key" "bucket" {
  count               = var.bucket_kms ? 1 : 0
  description         = "${local.name} records bucket"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.bucket_key.json
}

data "aws_caller_identity" "current" {}

# The account administers the key; the agents' role uses it (identity module).
data "aws_iam_policy_document" "bucket_key" {
  statement {
    sid       = "Account"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

module "bucket" {
  source                 = "../../modules/aws/bucket"
  name                   = var.bucket_name
  kms_key_arn            = var.bucket_kms ? aws_kms_key.bucket[0].arn : ""
  glacier_ir_after_days  = var.glacier_ir_after_days
  replication_bucket_arn = var.replication_bucket_arn
  express_one_zone       = var.express_zone_id != ""
  express_zone_id        = var.express_zone_id
  force_destroy          = var.environment == "dev"
  tags                   = local.tags
}

module "identity" {
  source               = "../../modules/aws/identity"
  name                 = local.name
  oidc_provider_arn    = module.cluster.oidc_provider_arn
  oidc_issuer          = module.cluster.oidc_issuer
  bucket_arn           = module.bucket.bucket_arn
  express_bucket_arn   = module.bucket.express_bucket_arn
  bucket_kms_key_arn   = var.bucket_kms ? aws_kms_key.bucket[0].arn : ""
  database_connect_arn = module.database.connect_arn
  secret_arns          = [module.database.secret_arn]
  secrets_kms_key_arns = [module.database.kms_key_arn]
  tags                 = local.tags
}

# Helm and kubectl reach the new cluster with a token from the caller's AWS credentials.
provider "helm" {
  kubernetes {
    host                   = module.cluster.cluster_endpoint
    cluster_ca_certificate = module.cluster.cluster_ca_certificate
    exec {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", module.cluster.cluster_name, "--region", var.region]
    }
  }
}

provider "kubectl" {
  host                   = module.cluster.cluster_endpoint
  cluster_ca_certificate = module.cluster.cluster_ca_certificate
  load_config_file       = false
  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", module.cluster.cluster_name, "--region", var.region]
  }
}

module "platform" {
  source                       = "../../modules/platform"
  external_secrets_annotations = { "eks.amazonaws.com/role-arn" = module.identity.secrets_identity }
  depends_on                   = [module.cluster]
}

module "monitoring" {
  source                = "../../modules/monitoring"
  storage_class         = "gp2"
  alertmanager_receiver = var.alertmanager_receiver
  depends_on            = [module.cluster]
}
