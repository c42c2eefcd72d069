variable "name" {
  description = "Name prefix of the service accounts."
  type        = string
}

variable "project_id" {
  description = "The Google Cloud project."
  type        = string
}

variable "workload_pool" {
  description = "The cluster's Workload Identity pool (cluster module's workload_pool)."
  type        = string
}

variable "namespace" {
  description = "The Kubernetes namespace of StreamHouse's service accounts."
  type        = string
  default     = "streamhouse"
}

variable "bucket_id" {
  description = "The records bucket (bucket module's bucket_id)."
  type        = string
}

variable "metadata_secret_id" {
  description = "The database's connection secret (database module's secret_id)."
  type        = string
}

variable "labels" {
  description = "Labels on the secrets."
  type        = map(string)
  default     = {}
}
