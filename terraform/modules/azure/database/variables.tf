variable "name" {
  description = "The Flexible Server's name (globally unique)."
  type        = string
}

variable "resource_group_name" {
  description = "The resource group."
  type        = string
}

variable "location" {
  description = "The Azure region."
  type        = string
}

variable "network_id" {
  description = "The VNet (network module's network_id), linked to the server's private DNS zone."
  type        = string
}

variable "database_subnet_ids" {
  description = "The delegated database subnet (network module's database_subnet_ids)."
  type        = list(string)
}

variable "postgres_version" {
  description = "PostgreSQL major version."
  type        = string
  default     = "16"
  validation {
    condition     = contains(["14", "15", "16"], var.postgres_version)
    error_message = "postgres_version must be 14, 15 or 16."
  }
}

variable "sku_name" {
  description = "Compute SKU, such as GP_Standard_D4ds_v5 (zone-redundant HA needs General Purpose or Memory Optimized)."
  type        = string
  default     = "GP_Standard_D4ds_v5"
  validation {
    condition     = can(regex("^(GP|MO)_", var.sku_name))
    error_message = "sku_name must be General Purpose (GP_) or Memory Optimized (MO_): Burstable has no HA."
  }
}

variable "storage_mb" {
  description = "Storage in MB."
  type        = number
  default     = 131072
}

variable "readers" {
  description = "Read replicas."
  type        = number
  default     = 1
  validation {
    condition     = var.readers >= 0 && var.readers <= 5
    error_message = "readers must be between 0 and 5."
  }
}

variable "backup_retention_days" {
  description = "Days of backups, and so of point-in-time recovery."
  type        = number
  default     = 30
  validation {
    condition     = var.backup_retention_days >= 7 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be between 7 and 35."
  }
}

variable "geo_redundant_backup" {
  description = "Copy backups to the paired region (for the region-failure runbook)."
  type        = bool
  default     = true
}

variable "key_vault_id" {
  description = "The Key Vault the connection secret goes to (identity module's key_vault_id)."
  type        = string
}

variable "pgbouncer_url_host" {
  description = "Where pods reach PgBouncer, written into the connection secret's url."
  type        = string
  default     = "streamhouse-pgbouncer.streamhouse.svc"
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
