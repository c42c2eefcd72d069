# IRSA roles. The agents get their bucket and rds-db:connect as the StreamHouse user, and
# nothing else; the control plane gets rds-db:connect only; the External Secrets Operator
# reads StreamHouse's secrets only. The agents' cluster secret is made here too: it is how
# agents prove themselves to each other.

locals {
  accounts = {
    agent         = "system:serviceaccount:${var.namespace}:streamhouse-agent"
    control-plane = "system:serviceaccount:${var.namespace}:streamhouse-control-plane"
    secrets       = "system:serviceaccount:external-secrets:external-secrets"
  }
}

data "aws_iam_policy_document" "assume" {
  for_each = local.accounts
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:sub"
      values   = [each.value]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each             = local.accounts
  name                 = "${var.name}-${each.key}"
  assume_role_policy   = data.aws_iam_policy_document.assume[each.key].json
  max_session_duration = 3600
  tags                 = var.tags
}

data "aws_iam_policy_document" "agent" {
  statement {
    sid       = "ListBucket"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arn]
  }
  statement {
    sid       = "Objects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["${var.bucket_arn}/*"]
  }
  dynamic "statement" {
    for_each = var.express_bucket_arn == "" ? [] : [1]
    content {
      sid       = "ExpressSessions"
      actions   = ["s3express:CreateSession"]
      resources = [var.express_bucket_arn]
    }
  }
  dynamic "statement" {
    for_each = var.bucket_kms_key_arn == "" ? [] : [1]
    content {
      sid       = "BucketKey"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [var.bucket_kms_key_arn]
    }
  }
  statement {
    sid       = "Database"
    actions   = ["rds-db:connect"]
    resources = [var.database_connect_arn]
  }
}

data "aws_iam_policy_document" "control_plane" {
  statement {
    sid       = "Database"
    actions   = ["rds-db:connect"]
    resources = [var.database_connect_arn]
  }
}

resource "aws_kms_key" "cluster_secret" {
  description         = "${var.name} cluster secret"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.key.json
  tags                = var.tags
}

data "aws_caller_identity" "current" {}

# The account administers the key; Secrets Manager and the secrets role use it.
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

resource "random_password" "cluster" {
  length  = 64
  special = false
}

resource "aws_secretsmanager_secret" "cluster" {
  name       = "streamhouse-cluster-secret"
  kms_key_id = aws_kms_key.cluster_secret.arn
  tags       = var.tags
}

resource "aws_secretsmanager_secret_version" "cluster" {
  secret_id     = aws_secretsmanager_secret.cluster.id
  secret_string = random_password.cluster.result
}

data "aws_iam_policy_document" "secrets" {
  statement {
    sid       = "Read"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = concat(var.secret_arns, [aws_secretsmanager_secret.cluster.arn])
  }
  statement {
    sid       = "Decrypt"
    actions   = ["kms:Decrypt"]
    resources = concat(var.secrets_kms_key_arns, [aws_kms_key.cluster_secret.arn])
  }
}

resource "aws_iam_role_policy" "this" {
  for_each = {
    agent         = data.aws_iam_policy_document.agent.json
    control-plane = data.aws_iam_policy_document.control_plane.json
    secrets       = data.aws_iam_policy_document.secrets.json
  }
  name   = "streamhouse"
  role   = aws_iam_role.this[each.key].id
  policy = each.value
}
