variable "name" {
  description = "The AKS cluster's name."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3 to 31 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "resource_group_name" {
  description = "The resource group."
  type        = string
}

variable "location" {
  description = "The Azure region."
  type        = string
}

variable "kubernetes_version" {
  description = "The Kubernetes minor version."
  type        = string
  default     = "1.31"
  validation {
    condition     = can(regex("^1\\.(3[0-9])$", var.kubernetes_version))
    error_message = "kubernetes_version must be 1.30 or later (the agents' preStop sleep needs 1.30)."
  }
}

variable "private_subnet_ids" {
  description = "The nodes' subnet (network module's private_subnet_ids)."
  type        = list(string)
}

variable "api_authorized_cidrs" {
  description = "Addresses allowed to reach the Kubernetes API."
  type        = list(string)
  default     = []
}

variable "system_vm_size" {
  description = "VM size of the on-demand system pool."
  type        = string
  default     = "Standard_D2s_v5"
}

variable "system_nodes" {
  description = "Size of the system pool."
  type        = object({ min = number, max = number })
  default     = { min = 3, max = 6 }
}

variable "agent_vm_size" {
  description = "VM size of the agents' spot pool (Standard_F4s_v2 is c6i.xlarge's counterpart)."
  type        = string
  default     = "Standard_F4s_v2"
}

variable "agent_nodes" {
  description = "Size of the agents' spot pool; the cluster autoscaler works between them."
  type        = object({ min = number, max = number })
  default     = { min = 3, max = 30 }
  validation {
    condition     = var.agent_nodes.min <= var.agent_nodes.max
    error_message = "agent_nodes.min must not exceed max."
  }
}

variable "log_analytics_workspace_id" {
  description = "A Log Analytics workspace for the cluster's logs; empty to create one."
  type        = string
  default     = ""
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
