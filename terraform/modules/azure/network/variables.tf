variable "name" {
  description = "Name prefix of every resource, such as streamhouse-prod."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3 to 31 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "resource_group_name" {
  description = "The resource group of every resource."
  type        = string
}

variable "location" {
  description = "The Azure region (with three availability zones)."
  type        = string
}

variable "cidr" {
  description = "The VNet's address space."
  type        = string
  default     = "10.0.0.0/16"
  validation {
    condition     = can(cidrhost(var.cidr, 0)) && startswith(var.cidr, "10.")
    error_message = "cidr must be inside 10.0.0.0/8 (the Kubernetes network policies admit the database there)."
  }
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
