# The records bucket. StreamHouse writes immutable objects and deletes them itself (retention
# and garbage collection), so the lifecycle only moves cold objects to cheaper classes,
# expires old versions, and aborts multipart uploads a killed agent left behind (they are
# billed and invisible to the agents' orphan scan).

resource "aws_s3_bucket" "this" {
  bucket        = var.name
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == "" ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn == "" ? null : var.kms_key_arn
    }
    # One KMS request per bucket key, not per object: KMS would otherwise cost more than S3.
    bucket_key_enabled = var.kms_key_arn != ""
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "tiering"
    status = "Enabled"
    filter {}
    transition {
      days          = var.intelligent_tiering_after_days
      storage_class = "INTELLIGENT_TIERING"
    }
    dynamic "transition" {
      for_each = var.glacier_ir_after_days > 0 ? [1] : []
      content {
        days          = var.glacier_ir_after_days
        storage_class = "GLACIER_IR"
      }
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
    expiration {
      expired_object_delete_marker = true
    }
  }

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_multipart_after_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

# Only TLS.
data "aws_iam_policy_document" "tls_only" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket     = aws_s3_bucket.this.id
  policy     = data.aws_iam_policy_document.tls_only.json
  depends_on = [aws_s3_bucket_public_access_block.this]
}

# Cross-region replication, for the region-failure runbook (docs/deploy.md).
data "aws_iam_policy_document" "replication_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "replication" {
  count              = var.replication_bucket_arn == "" ? 0 : 1
  name               = "${var.name}-replication"
  assume_role_policy = data.aws_iam_policy_document.replication_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "replication" {
  statement {
    actions   = ["s3:GetReplicationConfiguration", "s3:ListBucket"]
    resources = [aws_s3_bucket.this.arn]
  }
  statement {
    actions   = ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"]
    resources = ["${aws_s3_bucket.this.arn}/*"]
  }
  statement {
    actions   = ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"]
    resources = ["${var.replication_bucket_arn == "" ? "arn:aws:s3:::none" : var.replication_bucket_arn}/*"]
  }
}

resource "aws_iam_role_policy" "replication" {
  count  = var.replication_bucket_arn == "" ? 0 : 1
  name   = "replication"
  role   = aws_iam_role.replication[0].id
  policy = data.aws_iam_policy_document.replication.json
}

resource "aws_s3_bucket_replication_configuration" "this" {
  count  = var.replication_bucket_arn == "" ? 0 : 1
  bucket = aws_s3_bucket.this.id
  role   = aws_iam_role.replication[0].arn
  rule {
    id     = "everything"
    status = "Enabled"
    filter {}
    delete_marker_replication {
      status = "Enabled"
    }
    destination {
      bucket        = var.replication_bucket_arn
      storage_class = "STANDARD_IA"
    }
  }
  depends_on = [aws_s3_bucket_versioning.this]
}

# S3 Express One Zone: a directory bucket in one zone (no versioning, no storage classes;
# SSE-S3 only). Its lifecycle can only expire objects and abort multipart uploads.
resource "aws_s3_directory_bucket" "express" {
  count         = var.express_one_zone ? 1 : 0
  bucket        = "${var.name}--${var.express_zone_id}--x-s3"
  force_destroy = var.force_destroy
  location {
    name = var.express_zone_id
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "express" {
  count  = var.express_one_zone ? 1 : 0
  bucket = aws_s3_directory_bucket.express[0].bucket
  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_multipart_after_days
    }
  }
}
