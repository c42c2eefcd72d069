variable "name" {
  description = "Name prefix of the database's resources."
  type        = string
}

variable "engine" {
  description = "\"aurora\" (Aurora PostgreSQL, with reader replicas) or \"rds\" (RDS PostgreSQL Multi-AZ); docs/deploy.md compares them."
  type        = string
  default     = "aurora"
  validation {
    condition     = contains(["aurora", "rds"], var.engine)
    error_message = "engine must be \"aurora\" or \"rds\"."
  }
}

variable "postgres_version" {
  description = "PostgreSQL major.minor version."
  type        = string
  default     = "16.4"
}

variable "instance_class" {
  description = "Instance class of the writer and readers (ignored by Aurora Serverless v2)."
  type        = string
  default     = "db.r6g.large"
}

variable "serverless_v2" {
  description = "Aurora Serverless v2 instances (scale between min and max ACUs) instead of instance_class."
  type        = bool
  default     = false
}

variable "serverless_capacity" {
  description = "Aurora Serverless v2 capacity range in ACUs."
  type        = object({ min = number, max = number })
  default     = { min = 0.5, max = 16 }
  validation {
    condition     = var.serverless_capacity.min >= 0 && var.serverless_capacity.min <= var.serverless_capacity.max
    error_message = "serverless_capacity.min must be between 0 and max."
  }
}

variable "readers" {
  description = "Aurora reader replicas (agents send lag-tolerant reads there); RDS ignores it (its standby is not readable)."
  type        = number
  default     = 1
  validation {
    condition     = var.readers >= 0 && var.readers <= 15
    error_message = "readers must be between 0 and 15."
  }
}

variable "allocated_storage_gb" {
  description = "RDS storage in GB (Aurora grows by itself)."
  type        = number
  default     = 100
}

variable "backup_retention_days" {
  description = "Days of automated backups, and so of point-in-time recovery."
  type        = number
  default     = 30
  validation {
    condition     = var.backup_retention_days >= 7 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be between 7 and 35."
  }
}

variable "network_id" {
  description = "The VPC (network module's network_id)."
  type        = string
}

variable "database_subnet_ids" {
  description = "The network module's database subnets."
  type        = list(string)
}

variable "client_security_group_ids" {
  description = "Security groups admitted on 5432: the cluster's nodes (the pods use their addresses)."
  type        = list(string)
}

variable "deletion_protection" {
  description = "Refuse to delete the database (turn off only to tear down an environment)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
