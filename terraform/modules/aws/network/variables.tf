variable "name" {
  description = "Name prefix of every resource, such as streamhouse-prod."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3 to 31 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "cidr" {
  description = "The VPC's address range; a /16 is split into public, private and database subnets of each zone."
  type        = string
  default     = "10.0.0.0/16"
  validation {
    condition     = can(cidrhost(var.cidr, 0)) && tonumber(split("/", var.cidr)[1]) <= 16 && startswith(var.cidr, "10.")
    error_message = "cidr must be a /16 or larger inside 10.0.0.0/8 (the Kubernetes network policies admit the database there)."
  }
}

variable "zones" {
  description = "The three availability zones the subnets span."
  type        = list(string)
  validation {
    condition     = length(var.zones) == 3
    error_message = "zones must name exactly three availability zones."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (development) instead of one per zone."
  type        = bool
  default     = false
}

variable "cluster_name" {
  description = "The EKS cluster's name, tagged on the subnets for load balancers and Karpenter discovery."
  type        = string
}

variable "flow_log_retention_days" {
  description = "Days the VPC flow logs are kept."
  type        = number
  default     = 365
  validation {
    condition     = var.flow_log_retention_days >= 1
    error_message = "flow_log_retention_days must be at least 1."
  }
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
