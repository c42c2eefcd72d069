variable "environment" {
  description = "dev, staging or prod: the name of every resource and the state key."
  type        = string
  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be dev, staging or prod."
  }
}

variable "region" {
  description = "The AWS region, with at least three availability zones."
  type        = string
}

variable "cidr" {
  description = "The VPC's address range."
  type        = string
  default     = "10.0.0.0/16"
}

variable "single_nat_gateway" {
  description = "One NAT gateway instead of one per zone (development)."
  type        = bool
  default     = false
}

variable "kubernetes_version" {
  description = "EKS's Kubernetes version."
  type        = string
  default     = "1.31"
}

variable "public_access_cidrs" {
  description = "Addresses allowed to reach the Kubernetes API; empty for a private endpoint only."
  type        = list(string)
  default     = []
}

variable "system_nodes" {
  description = "The on-demand system node group's size."
  type        = object({ min = number, desired = number, max = number })
  default     = { min = 3, desired = 3, max = 6 }
}

variable "agent_nodes" {
  description = "The agents' spot node group's size (Karpenter adds nodes above it)."
  type        = object({ min = number, desired = number, max = number })
  default     = { min = 3, desired = 3, max = 6 }
}

variable "karpenter_cpu_limit" {
  description = "Most vCPUs Karpenter may provision for agents."
  type        = number
  default     = 256
}

variable "database_engine" {
  description = "\"aurora\" or \"rds\" (docs/deploy.md: choosing)."
  type        = string
  default     = "aurora"
}

variable "database_instance_class" {
  description = "The database's instance class."
  type        = string
  default     = "db.r6g.large"
}

variable "database_serverless_v2" {
  description = "Aurora Serverless v2 instead of provisioned instances."
  type        = bool
  default     = false
}

variable "database_readers" {
  description = "Aurora reader replicas."
  type        = number
  default     = 1
}

variable "bucket_name" {
  description = "The records bucket's name (globally unique)."
  type        = string
}

variable "bucket_kms" {
  description = "Encrypt the bucket with a customer-managed KMS key (SSE-KMS) instead of SSE-S3."
  type        = bool
  default     = false
}

variable "glacier_ir_after_days" {
  description = "Days after which objects move to Glacier Instant Retrieval; 0 for never."
  type        = number
  default     = 0
}

variable "replication_bucket_arn" {
  description = "A bucket in another region to replicate to; empty for none."
  type        = string
  default     = ""
}

variable "express_zone_id" {
  description = "Create an S3 Express One Zone directory bucket in this zone id (such as use1-az4); empty for none."
  type        = string
  default     = ""
}

variable "deletion_protection" {
  description = "Protect the database from deletion."
  type        = bool
  default     = true
}

variable "alertmanager_receiver" {
  description = "Alertmanager's receivers and route, YAML (pass it with TF_VAR_alertmanager_receiver; it holds keys)."
  type        = string
  default     = ""
  sensitive   = true
}
