variable "name" {
  description = "The EKS cluster's name."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3 to 31 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "kubernetes_version" {
  description = "The Kubernetes minor version of the control plane and node groups."
  type        = string
  default     = "1.31"
  validation {
    condition     = can(regex("^1\\.(3[0-9])$", var.kubernetes_version))
    error_message = "kubernetes_version must be 1.30 or later, as 1.31 (the agents' preStop sleep needs 1.30)."
  }
}

variable "network_id" {
  description = "The VPC (network module's network_id)."
  type        = string
}

variable "private_subnet_ids" {
  description = "Subnets of the nodes, one per zone (network module's private_subnet_ids)."
  type        = list(string)
}

variable "public_access_cidrs" {
  description = "Addresses allowed to reach the Kubernetes API's public endpoint; empty makes it private only."
  type        = list(string)
  default     = []
}

variable "system_instance_type" {
  description = "Instance type of the on-demand system node group (controllers, Prometheus, PgBouncer)."
  type        = string
  default     = "m6i.large"
}

variable "system_nodes" {
  description = "Size of the on-demand system node group."
  type        = object({ min = number, desired = number, max = number })
  default     = { min = 3, desired = 3, max = 6 }
  validation {
    condition     = var.system_nodes.min >= 1 && var.system_nodes.min <= var.system_nodes.desired && var.system_nodes.desired <= var.system_nodes.max
    error_message = "system_nodes must satisfy 1 <= min <= desired <= max."
  }
}

variable "agent_instance_types" {
  description = "Instance types of the agents' spot node group and Karpenter NodePool (one agent per node)."
  type        = list(string)
  default     = ["c6i.xlarge", "c6i.2xlarge"]
  validation {
    condition     = length(var.agent_instance_types) > 0
    error_message = "agent_instance_types must name at least one instance type."
  }
}

variable "agent_nodes" {
  description = "Size of the agents' spot node group; Karpenter adds nodes above it."
  type        = object({ min = number, desired = number, max = number })
  default     = { min = 3, desired = 3, max = 6 }
  validation {
    condition     = var.agent_nodes.min <= var.agent_nodes.desired && var.agent_nodes.desired <= var.agent_nodes.max
    error_message = "agent_nodes must satisfy min <= desired <= max."
  }
}

variable "karpenter_cpu_limit" {
  description = "Most vCPUs Karpenter may provision for agents."
  type        = number
  default     = 256
}

variable "karpenter_version" {
  description = "Version of the Karpenter Helm chart."
  type        = string
  default     = "1.1.1"
}

variable "log_retention_days" {
  description = "Days the control plane's logs are kept."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
