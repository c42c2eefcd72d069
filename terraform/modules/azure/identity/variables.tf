variable "name" {
  description = "Name prefix of the identities and the Key Vault (the vault's name is at most 24 characters)."
  type        = string
  validation {
    condition     = length(var.name) <= 21
    error_message = "name must be at most 21 characters (the Key Vault adds \"-kv\")."
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

variable "oidc_issuer_url" {
  description = "The cluster's OIDC issuer (cluster module's oidc_issuer_url)."
  type        = string
}

variable "namespace" {
  description = "The Kubernetes namespace of StreamHouse's service accounts."
  type        = string
  default     = "streamhouse"
}

variable "bucket_id" {
  description = "The records container (bucket module's bucket_id)."
  type        = string
}

variable "private_subnet_ids" {
  description = "Subnets allowed through the Key Vault's firewall."
  type        = list(string)
}

variable "admin_object_ids" {
  description = "Entra ID objects (the deploying user or pipeline) that may write the vault's secrets."
  type        = list(string)
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
