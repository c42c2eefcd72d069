variable "name" {
  description = "The bucket's name (globally unique)."
  type        = string
}

variable "project_id" {
  description = "The Google Cloud project."
  type        = string
}

variable "location" {
  description = "The bucket's location: the cluster's region, or a dual-region such as NAM4 for region-failure recovery."
  type        = string
}

variable "kms_key_id" {
  description = "A Cloud KMS key to encrypt objects with (CMEK); empty for Google-managed keys."
  type        = string
  default     = ""
}

variable "nearline_after_days" {
  description = "Days after which objects move to Nearline (GCS has no Intelligent-Tiering; Autoclass is the alternative)."
  type        = number
  default     = 30
}

variable "coldline_after_days" {
  description = "Days after which objects move to Coldline (Glacier Instant Retrieval's counterpart); 0 for never."
  type        = number
  default     = 0
  validation {
    condition     = var.coldline_after_days == 0 || var.coldline_after_days >= 90
    error_message = "coldline_after_days must be 0 (off) or at least 90."
  }
}

variable "noncurrent_version_days" {
  description = "Days a deleted or replaced object's old version is kept."
  type        = number
  default     = 7
}

variable "abort_multipart_after_days" {
  description = "Days after which incomplete multipart (XML API) uploads are aborted."
  type        = number
  default     = 1
}

variable "force_destroy" {
  description = "Let terraform destroy a bucket that holds objects (development only)."
  type        = bool
  default     = false
}

variable "labels" {
  description = "Labels on the bucket."
  type        = map(string)
  default     = {}
}
