variable "account_name" {
  description = "The storage account's name (globally unique, 3-24 lower-case letters and digits)."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9]{3,24}$", var.account_name))
    error_message = "account_name must be 3 to 24 lower-case letters and digits."
  }
}

variable "container_name" {
  description = "The blob container agents write to."
  type        = string
  default     = "records"
}

variable "resource_group_name" {
  description = "The resource group."
  type        = string
}

variable "location" {
  description = "The Azure region."
  type        = string
}

variable "replication_type" {
  description = "ZRS (three zones of the region), or GZRS to replicate to the paired region for region-failure recovery."
  type        = string
  default     = "ZRS"
  validation {
    condition     = contains(["ZRS", "GZRS", "RAGZRS"], var.replication_type)
    error_message = "replication_type must be ZRS, GZRS or RAGZRS."
  }
}

variable "private_subnet_ids" {
  description = "Subnets allowed through the storage firewall (network module's private_subnet_ids)."
  type        = list(string)
}

variable "cool_after_days" {
  description = "Days after which blobs move to the Cool tier (Intelligent-Tiering's counterpart is last-access tracking, off here)."
  type        = number
  default     = 30
}

variable "cold_after_days" {
  description = "Days after which blobs move to the Cold tier (Glacier Instant Retrieval's counterpart); 0 for never."
  type        = number
  default     = 0
  validation {
    condition     = var.cold_after_days == 0 || var.cold_after_days >= 90
    error_message = "cold_after_days must be 0 (off) or at least 90."
  }
}

variable "old_version_days" {
  description = "Days a deleted or replaced blob's old version is kept."
  type        = number
  default     = 7
}

variable "customer_managed_key_id" {
  description = "A Key Vault key to encrypt blobs with; empty for Microsoft-managed keys."
  type        = string
  default     = ""
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
