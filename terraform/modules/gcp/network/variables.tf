variable "name" {
  description = "Name prefix of every resource, such as streamhouse-prod."
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
  description = "The region; its subnets span every zone of it."
  type        = string
}

variable "cidr" {
  description = "The nodes' range; pods and Services get secondary ranges beside it."
  type        = string
  default     = "10.0.0.0/16"
  validation {
    condition     = can(cidrhost(var.cidr, 0)) && startswith(var.cidr, "10.")
    error_message = "cidr must be inside 10.0.0.0/8 (the Kubernetes network policies admit the database there)."
  }
}
