variable "environment" {
  description = "dev, staging or prod: the name of every resource."
  type        = string
  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be dev, staging or prod."
  }
}

variable "project_id" {
  description = "The Google Cloud project of this environment."
  type        = string
}

variable "region" {
  description = "The region of the regional cluster and database."
  type        = string
}

variable "cidr" {
  description = "The nodes' address range."
  type        = string
  default     = "10.0.0.0/16"
}

variable "master_authorized_cidrs" {
  description = "Addresses allowed to reach the Kubernetes API; empty for a private endpoint only."
  type        = list(string)
  default     = []
}

variable "agent_nodes_per_zone" {
  description = "Nodes per zone of the agents' spot pool."
  type        = object({ min = number, max = number })
  default     = { min = 1, max = 10 }
}

variable "database_tier" {
  description = "Cloud SQL machine tier."
  type        = string
  default     = "db-custom-4-16384"
}

variable "database_readers" {
  description = "Cloud SQL read replicas."
  type        = number
  default     = 1
}

variable "bucket_name" {
  description = "The records bucket's name (globally unique)."
  type        = string
}

variable "bucket_location" {
  description = "The bucket's location: the region, or a dual-region (such as NAM4) for region-failure recovery."
  type        = string
}

variable "coldline_after_days" {
  description = "Days after which objects move to Coldline; 0 for never."
  type        = number
  default     = 0
}

variable "deletion_protection" {
  description = "Protect the database from deletion."
  type        = bool
  default     = true
}

variable "alertmanager_receiver" {
  description = "Alertmanager's receivers and route, YAML (pass it with TF_VAR_alertmanager_receiver; it holds keys)."
  type        = string
  default     = ""
  sensitive   = true
}
