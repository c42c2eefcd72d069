variable "environment" {
  description = "dev, staging or prod: the name of every resource."
  type        = string
  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be dev, staging or prod."
  }
}

variable "subscription_id" {
  description = "The Azure subscription of this environment."
  type        = string
}

variable "location" {
  description = "The Azure region, with three availability zones."
  type        = string
}

variable "cidr" {
  description = "The VNet's address space."
  type        = string
  default     = "10.0.0.0/16"
}

variable "api_authorized_cidrs" {
  description = "Addresses allowed to reach the Kubernetes API."
  type        = list(string)
  default     = []
}

variable "agent_nodes" {
  description = "The agents' spot pool size."
  type        = object({ min = number, max = number })
  default     = { min = 3, max = 30 }
}

variable "database_sku" {
  description = "The Flexible Server's SKU."
  type        = string
  default     = "GP_Standard_D4ds_v5"
}

variable "database_readers" {
  description = "Read replicas."
  type        = number
  default     = 1
}

variable "storage_account_name" {
  description = "The records storage account's name (globally unique)."
  type        = string
}

variable "storage_replication" {
  description = "ZRS, or GZRS/RAGZRS to replicate to the paired region."
  type        = string
  default     = "ZRS"
}

variable "cold_after_days" {
  description = "Days after which blobs move to the Cold tier; 0 for never."
  type        = number
  default     = 0
}

variable "admin_object_ids" {
  description = "Entra ID objects (the deploying user or pipeline) that write the Key Vault's secrets."
  type        = list(string)
}

variable "alertmanager_receiver" {
  description = "Alertmanager's receivers and route, YAML (pass it with TF_VAR_alertmanager_receiver; it holds keys)."
  type        = string
  default     = ""
  sensitive   = true
}
