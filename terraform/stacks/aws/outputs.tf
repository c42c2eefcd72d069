# What scripts/deploy.sh writes into kustomize/overlays/<env>-aws (deploy.env, streamhouse.env).

output "cluster_name" {
  description = "The EKS cluster (aws eks update-kubeconfig --name)."
  value       = module.cluster.cluster_name
}

output "region" {
  description = "The AWS region (AWS_REGION)."
  value       = var.region
}

output "bucket_name" {
  description = "The records bucket (S3_BUCKET)."
  value       = module.bucket.bucket_name
}

output "express_bucket_name" {
  description = "The S3 Express One Zone directory bucket; empty when none."
  value       = module.bucket.express_bucket_name
}

output "agent_identity" {
  description = "The agents' IAM role (AGENT_ROLE_ARN)."
  value       = module.identity.agent_identity
}

output "control_plane_identity" {
  description = "The control plane's IAM role (CONTROL_PLANE_ROLE_ARN)."
  value       = module.identity.control_plane_identity
}

output "database_endpoint" {
  description = "The metadata database's writer."
  value       = module.database.endpoint
}

output "database_master_secret_arn" {
  description = "The postgres master user's secret, for the one-time `CREATE USER streamhouse` (docs/deploy.md)."
  value       = module.database.master_secret_arn
}
