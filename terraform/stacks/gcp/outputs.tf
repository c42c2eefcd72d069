# What scripts/deploy.sh writes into kustomize/overlays/<env>-gcp (deploy.env, streamhouse.env).

output "cluster_name" {
  description = "The GKE cluster (gcloud container clusters get-credentials)."
  value       = module.cluster.cluster_name
}

output "region" {
  description = "The region."
  value       = var.region
}

output "project_id" {
  description = "The project (PROJECT_ID)."
  value       = var.project_id
}

output "bucket_name" {
  description = "The records bucket (STREAMHOUSE_OBJECT_STORE__BUCKET)."
  value       = module.bucket.bucket_name
}

output "agent_identity" {
  description = "The agents' Google service account (AGENT_GSA)."
  value       = module.identity.agent_identity
}

output "database_instance" {
  description = "The Cloud SQL instance, for restores."
  value       = module.database.instance_name
}
