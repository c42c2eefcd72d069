variable "name" {
  description = "Name prefix of the IAM roles."
  type        = string
}

variable "oidc_provider_arn" {
  description = "The cluster's IRSA OIDC provider (cluster module's oidc_provider_arn)."
  type        = string
}

variable "oidc_issuer" {
  description = "The cluster's OIDC issuer without https:// (cluster module's oidc_issuer)."
  type        = string
}

variable "namespace" {
  description = "The Kubernetes namespace of StreamHouse's service accounts."
  type        = string
  default     = "streamhouse"
}

variable "bucket_arn" {
  description = "The records bucket (bucket module's bucket_arn)."
  type        = string
}

variable "express_bucket_arn" {
  description = "The S3 Express directory bucket, if any (bucket module's express_bucket_arn)."
  type        = string
  default     = ""
}

variable "bucket_kms_key_arn" {
  description = "The bucket's KMS key, if it uses SSE-KMS; empty otherwise."
  type        = string
  default     = ""
}

variable "database_connect_arn" {
  description = "The rds-db:connect resource of the StreamHouse database user (database module's connect_arn)."
  type        = string
}

variable "secret_arns" {
  description = "Secrets Manager secrets the External Secrets Operator may read besides the cluster secret (the database module's streamhouse-metadata)."
  type        = list(string)
}

variable "secrets_kms_key_arns" {
  description = "KMS keys of those secrets."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
