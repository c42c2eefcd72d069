# The records bucket on GCS: uniform access, public access prevented, versioning, CMEK
# optional, a lifecycle moving cold objects to Nearline (and Coldline), expiring old versions
# and aborting incomplete multipart uploads. A dual-region location replicates across
# regions (GCS's counterpart of S3 cross-region replication).

resource "google_storage_bucket" "this" {
  project                     = var.project_id
  name                        = var.name
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy
  labels                      = var.labels

  versioning {
    enabled = true
  }

  dynamic "encryption" {
    for_each = var.kms_key_id == "" ? [] : [1]
    content {
      default_kms_key_name = var.kms_key_id
    }
  }

  lifecycle_rule {
    condition {
      age = var.nearline_after_days
    }
    action {
      type          = "SetStorageClass"
      storage_class = "NEARLINE"
    }
  }

  dynamic "lifecycle_rule" {
    for_each = var.coldline_after_days > 0 ? [1] : []
    content {
      condition {
        age = var.coldline_after_days
      }
      action {
        type          = "SetStorageClass"
        storage_class = "COLDLINE"
      }
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_version_days
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      age = var.abort_multipart_after_days
    }
    action {
      type = "AbortIncompleteMultipartUpload"
    }
  }
}
