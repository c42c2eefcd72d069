# The metadata database: Aurora PostgreSQL (writer plus readers, Serverless v2 optional) or
# RDS PostgreSQL Multi-AZ. Both keep 30 days of backups with point-in-time recovery, encrypt
# with their own KMS key and admit IAM authentication, which is how the agents and the
# control plane sign in (user "streamhouse", granted rds_iam: see docs/deploy.md).

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  aurora   = var.engine == "aurora"
  database = "streamhouse"
  user     = "streamhouse"
  writer   = local.aurora ? aws_rds_cluster.this[0].endpoint : aws_db_instance.this[0].address
  reader   = local.aurora && var.readers > 0 ? aws_rds_cluster.this[0].reader_endpoint : ""
  url      = "postgres://${local.user}@${local.writer}:5432/${local.database}?sslmode=require"
  # rds-db:connect is granted on the cluster's or instance's resource id.
  resource_id = local.aurora ? aws_rds_cluster.this[0].cluster_resource_id : aws_db_instance.this[0].resource_id
}

resource "aws_kms_key" "this" {
  description         = "${var.name} metadata database"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.key.json
  tags                = var.tags
}

# The account administers the key; RDS and Secrets Manager use it through their grants.
data "aws_iam_policy_document" "key" {
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

resource "aws_db_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.database_subnet_ids
  tags       = var.tags
}

resource "aws_security_group" "this" {
  name        = "${var.name}-database"
  description = "PostgreSQL from the Kubernetes nodes"
  vpc_id      = var.network_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "postgres" {
  for_each                     = toset(var.client_security_group_ids)
  security_group_id            = aws_security_group.this.id
  description                  = "PostgreSQL from the cluster"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = each.key
}

resource "aws_db_parameter_group" "this" {
  count  = local.aurora ? 0 : 1
  name   = "${var.name}-postgres"
  family = "postgres${split(".", var.postgres_version)[0]}"
  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  parameter {
    name  = "log_statement"
    value = "ddl"
  }
  tags = var.tags
}

resource "aws_rds_cluster_parameter_group" "this" {
  count  = local.aurora ? 1 : 0
  name   = "${var.name}-aurora"
  family = "aurora-postgresql${split(".", var.postgres_version)[0]}"
  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  parameter {
    name  = "log_statement"
    value = "ddl"
  }
  tags = var.tags
}

data "aws_iam_policy_document" "monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  name               = "${var.name}-rds-monitoring"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_rds_cluster" "this" {
  count                               = local.aurora ? 1 : 0
  cluster_identifier                  = var.name
  engine                              = "aurora-postgresql"
  engine_version                      = var.postgres_version
  database_name                       = local.database
  master_username                     = "postgres"
  manage_master_user_password         = true
  iam_database_authentication_enabled = true
  db_subnet_group_name                = aws_db_subnet_group.this.name
  vpc_security_group_ids              = [aws_security_group.this.id]
  db_cluster_parameter_group_name     = aws_rds_cluster_parameter_group.this[0].name
  storage_encrypted                   = true
  kms_key_id                          = aws_kms_key.this.arn
  backup_retention_period             = var.backup_retention_days
  preferred_backup_window             = "03:00-04:00"
  copy_tags_to_snapshot               = true
  deletion_protection                 = var.deletion_protection
  final_snapshot_identifier           = "${var.name}-final"
  enabled_cloudwatch_logs_exports     = ["postgresql"]

  dynamic "serverlessv2_scaling_configuration" {
    for_each = var.serverless_v2 ? [1] : []
    content {
      min_capacity = var.serverless_capacity.min
      max_capacity = var.serverless_capacity.max
    }
  }
  tags = var.tags
}

# The writer and its readers, spread over the zones; Aurora fails over to a reader.
resource "aws_rds_cluster_instance" "this" {
  count                                 = local.aurora ? 1 + var.readers : 0
  identifier                            = "${var.name}-${count.index}"
  cluster_identifier                    = aws_rds_cluster.this[0].id
  engine                                = aws_rds_cluster.this[0].engine
  engine_version                        = aws_rds_cluster.this[0].engine_version
  instance_class                        = var.serverless_v2 ? "db.serverless" : var.instance_class
  db_subnet_group_name                  = aws_db_subnet_group.this.name
  auto_minor_version_upgrade            = true
  monitoring_interval                   = 30
  monitoring_role_arn                   = aws_iam_role.monitoring.arn
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.this.arn
  performance_insights_retention_period = 7
  tags                                  = var.tags
}

resource "aws_db_instance" "this" {
  count                                 = local.aurora ? 0 : 1
  identifier                            = var.name
  engine                                = "postgres"
  engine_version                        = var.postgres_version
  instance_class                        = var.instance_class
  allocated_storage                     = var.allocated_storage_gb
  max_allocated_storage                 = var.allocated_storage_gb * 10
  storage_type                          = "gp3"
  storage_encrypted                     = true
  kms_key_id                            = aws_kms_key.this.arn
  db_name                               = local.database
  username                              = "postgres"
  manage_master_user_password           = true
  iam_database_authentication_enabled   = true
  multi_az                              = true
  db_subnet_group_name                  = aws_db_subnet_group.this.name
  vpc_security_group_ids                = [aws_security_group.this.id]
  parameter_group_name                  = aws_db_parameter_group.this[0].name
  backup_retention_period               = var.backup_retention_days
  backup_window                         = "03:00-04:00"
  copy_tags_to_snapshot                 = true
  deletion_protection                   = var.deletion_protection
  final_snapshot_identifier             = "${var.name}-final"
  auto_minor_version_upgrade            = true
  monitoring_interval                   = 30
  monitoring_role_arn                   = aws_iam_role.monitoring.arn
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.this.arn
  performance_insights_retention_period = 7
  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]
  tags                                  = var.tags
}

# What the pods need to connect, read by the External Secrets Operator into the
# streamhouse-metadata Secret (kustomize/base/secrets). No password: IAM authentication.
resource "aws_secretsmanager_secret" "metadata" {
  name       = "streamhouse-metadata"
  kms_key_id = aws_kms_key.this.arn
  tags       = var.tags
}

resource "aws_secretsmanager_secret_version" "metadata" {
  secret_id = aws_secretsmanager_secret.metadata.id
  secret_string = jsonencode(merge({
    url      = local.url
    host     = local.writer
    port     = "5432"
    dbname   = local.database
    username = local.user
    password = ""
    }, local.reader == "" ? {} : {
    reader_url = "postgres://${local.user}@${local.reader}:5432/${local.database}?sslmode=require"
  }))
}
