variable "name" {
  description = "The GKE cluster's name."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3 to 31 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "project_id" {
  description = "The Google Cloud project."
  type        = string
}

variable "region" {
  description = "The region of the regional cluster (nodes in each of its zones)."
  type        = string
}

variable "network_id" {
  description = "The VPC (network module's network_id)."
  type        = string
}

variable "private_subnet_ids" {
  description = "The nodes' subnet (network module's private_subnet_ids)."
  type        = list(string)
}

variable "release_channel" {
  description = "GKE release channel."
  type        = string
  default     = "REGULAR"
  validation {
    condition     = contains(["RAPID", "REGULAR", "STABLE"], var.release_channel)
    error_message = "release_channel must be RAPID, REGULAR or STABLE."
  }
}

variable "master_authorized_cidrs" {
  description = "Addresses allowed to reach the Kubernetes API."
  type        = list(string)
  default     = []
}

variable "system_machine_type" {
  description = "Machine type of the on-demand system pool."
  type        = string
  default     = "e2-standard-2"
}

variable "system_nodes_per_zone" {
  description = "Nodes per zone of the system pool."
  type        = object({ min = number, max = number })
  default     = { min = 1, max = 2 }
}

variable "agent_machine_type" {
  description = "Machine type of the agents' spot pool (c3-standard-4 is c6i.xlarge's counterpart)."
  type        = string
  default     = "c3-standard-4"
}

variable "agent_nodes_per_zone" {
  description = "Nodes per zone of the agents' spot pool; the cluster autoscaler works between them."
  type        = object({ min = number, max = number })
  default     = { min = 1, max = 10 }
  validation {
    condition     = var.agent_nodes_per_zone.min <= var.agent_nodes_per_zone.max
    error_message = "agent_nodes_per_zone.min must not exceed max."
  }
}

variable "labels" {
  description = "Labels on every resource."
  type        = map(string)
  default     = {}
}
