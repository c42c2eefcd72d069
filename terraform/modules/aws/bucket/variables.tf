variable "name" {
  description = "The bucket's name (globally unique)."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.name))
    error_message = "name must be a valid S3 bucket name."
  }
}

variable "kms_key_arn" {
  description = "A KMS key to encrypt objects with (SSE-KMS, with S3 bucket keys); empty for SSE-S3."
  type        = string
  default     = ""
}

variable "intelligent_tiering_after_days" {
  description = "Days after which objects move to Intelligent-Tiering (compacted objects are rarely read once cold)."
  type        = number
  default     = 30
  validation {
    condition     = var.intelligent_tiering_after_days >= 0
    error_message = "intelligent_tiering_after_days must not be negative."
  }
}

variable "glacier_ir_after_days" {
  description = "Days after which objects move to Glacier Instant Retrieval; 0 keeps them in Intelligent-Tiering."
  type        = number
  default     = 0
  validation {
    condition     = var.glacier_ir_after_days == 0 || var.glacier_ir_after_days >= 90
    error_message = "glacier_ir_after_days must be 0 (off) or at least 90."
  }
}

variable "noncurrent_version_days" {
  description = "Days a deleted or replaced object's old version is kept (versioning's undo window for garbage collection and retention)."
  type        = number
  default     = 7
  validation {
    condition     = var.noncurrent_version_days >= 1
    error_message = "noncurrent_version_days must be at least 1."
  }
}

variable "abort_multipart_after_days" {
  description = "Days after which incomplete multipart uploads (left by a killed agent) are aborted."
  type        = number
  default     = 1
  validation {
    condition     = var.abort_multipart_after_days >= 1
    error_message = "abort_multipart_after_days must be at least 1."
  }
}

variable "replication_bucket_arn" {
  description = "A versioned bucket in another region to replicate every object to (region-failure recovery); empty for none."
  type        = string
  default     = ""
}

variable "express_one_zone" {
  description = "Also create an S3 Express One Zone directory bucket in express_zone_id, for agents of one zone that need single-digit-millisecond writes."
  type        = bool
  default     = false
}

variable "express_zone_id" {
  description = "The availability zone id (such as use1-az4) of the directory bucket."
  type        = string
  default     = ""
  validation {
    condition     = var.express_zone_id == "" || can(regex("^[a-z0-9]+-az[0-9]+$", var.express_zone_id))
    error_message = "express_zone_id must be a zone id such as use1-az4."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy a bucket that holds objects (development only)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
