output "endpoint" {
  description = "The primary's private address."
  value       = google_sql_database_instance.this.private_ip_address
}

output "reader_endpoint" {
  description = "The first read replica's private address; empty without replicas."
  value       = var.readers > 0 ? google_sql_database_instance.reader[0].private_ip_address : ""
}

output "port" {
  description = "PostgreSQL's port."
  value       = 5432
}

output "database_name" {
  description = "The database StreamHouse uses."
  value       = google_sql_database.this.name
}

output "username" {
  description = "The user of the agents and the control plane."
  value       = google_sql_user.this.name
}

output "secret_name" {
  description = "The Secret Manager secret External Secrets reads (streamhouse-metadata)."
  value       = google_secret_manager_secret.metadata.secret_id
}

output "secret_id" {
  description = "That secret's full id, for the identity module."
  value       = google_secret_manager_secret.metadata.id
}

output "instance_name" {
  description = "The Cloud SQL instance, for backups and point-in-time recovery (docs/deploy.md)."
  value       = google_sql_database_instance.this.name
}
