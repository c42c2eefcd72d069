variable "name" {
  description = "The Cloud SQL instance's name."
  type        = string
}

variable "project_id" {
  description = "The Google Cloud project."
  type        = string
}

variable "region" {
  description = "The region; the HA standby is in another of its zones."
  type        = string
}

variable "network_id" {
  description = "The VPC (network module's network_id)."
  type        = string
}

variable "database_connection" {
  description = "The private services connection (network module's database_connection)."
  type        = string
}

variable "postgres_version" {
  description = "Cloud SQL's PostgreSQL version, such as POSTGRES_16."
  type        = string
  default     = "POSTGRES_16"
  validation {
    condition     = can(regex("^POSTGRES_1[4-9]$", var.postgres_version))
    error_message = "postgres_version must be POSTGRES_14 or later."
  }
}

variable "tier" {
  description = "Machine tier, such as db-custom-4-16384 (4 vCPU, 16 GiB)."
  type        = string
  default     = "db-custom-4-16384"
}

variable "readers" {
  description = "Read replicas."
  type        = number
  default     = 1
  validation {
    condition     = var.readers >= 0 && var.readers <= 10
    error_message = "readers must be between 0 and 10."
  }
}

variable "backup_retention_days" {
  description = "Days of automated backups; point-in-time recovery covers up to 7 days of logs, backups the rest."
  type        = number
  default     = 30
  validation {
    condition     = var.backup_retention_days >= 7 && var.backup_retention_days <= 365
    error_message = "backup_retention_days must be between 7 and 365."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the instance."
  type        = bool
  default     = true
}

variable "pgbouncer_url_host" {
  description = "Where pods reach PgBouncer, written into the connection secret's url."
  type        = string
  default     = "streamhouse-pgbouncer.streamhouse.svc"
}

variable "labels" {
  description = "Labels on every resource."
  type        = map(string)
  default     = {}
}
