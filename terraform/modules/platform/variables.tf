variable "external_secrets_annotations" {
  description = "Annotations of the External Secrets Operator's service account: the cloud's workload identity (identity module's secrets_identity)."
  type        = map(string)
}

variable "external_secrets_pod_labels" {
  description = "Labels of the External Secrets Operator's pods (Azure Workload Identity needs azure.workload.identity/use)."
  type        = map(string)
  default     = {}
}

variable "external_secrets_version" {
  description = "Version of the external-secrets Helm chart."
  type        = string
  default     = "0.10.7"
}

variable "argocd_version" {
  description = "Version of the argo-cd Helm chart."
  type        = string
  default     = "7.7.11"
}
