output "network_id" {
  description = "The VPC's id."
  value       = google_compute_network.this.id
}

output "cidr" {
  description = "The nodes' range."
  value       = var.cidr
}

output "public_subnet_ids" {
  description = "The public subnet (one regional subnet spans the three zones)."
  value       = [google_compute_subnetwork.public.id]
}

output "private_subnet_ids" {
  description = "The nodes' subnet (regional: it spans the three zones)."
  value       = [google_compute_subnetwork.private.id]
}

output "database_subnet_ids" {
  description = "The private services range Cloud SQL takes its address from."
  value       = [google_compute_global_address.database.id]
}

output "database_connection" {
  description = "The private services connection Cloud SQL depends on."
  value       = google_service_networking_connection.database.id
}
