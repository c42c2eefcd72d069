variable "namespace" {
  description = "Namespace of Prometheus, Alertmanager and Grafana (the manifests' NetworkPolicies admit scrapes from \"monitoring\")."
  type        = string
  default     = "monitoring"
}

variable "chart_version" {
  description = "Version of the kube-prometheus-stack Helm chart."
  type        = string
  default     = "66.3.1"
}

variable "retention" {
  description = "How long Prometheus keeps samples, such as 15d."
  type        = string
  default     = "15d"
  validation {
    condition     = can(regex("^[0-9]+[hdw]$", var.retention))
    error_message = "retention must be a duration such as 36h, 15d or 2w."
  }
}

variable "storage_size" {
  description = "Size of Prometheus's volume, such as 100Gi."
  type        = string
  default     = "100Gi"
}

variable "storage_class" {
  description = "StorageClass of Prometheus's volume (the cloud's SSD class)."
  type        = string
}

variable "alertmanager_receiver" {
  description = "Alertmanager's receivers and route as YAML (PagerDuty for severity=page, a ticket queue for severity=ticket); empty keeps the chart's null receiver."
  type        = string
  default     = ""
  sensitive   = true
}
