output "agent_identity" {
  description = "The agents' Google service account (iam.gke.io/gcp-service-account of streamhouse-agent)."
  value       = google_service_account.agent.email
}

output "control_plane_identity" {
  description = "The control plane needs no Google identity on GCP (it signs in to PgBouncer with the password); empty."
  value       = ""
}

output "secrets_identity" {
  description = "The External Secrets Operator's Google service account."
  value       = google_service_account.secrets.email
}
