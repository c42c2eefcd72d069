output "cluster_name" {
  description = "The cluster's name (for `gcloud container clusters get-credentials`)."
  value       = google_container_cluster.this.name
}

output "cluster_endpoint" {
  description = "The Kubernetes API's address."
  value       = "https://${google_container_cluster.this.endpoint}"
}

output "cluster_ca_certificate" {
  description = "The Kubernetes API's CA certificate, PEM."
  value       = base64decode(google_container_cluster.this.master_auth[0].cluster_ca_certificate)
}

output "workload_pool" {
  description = "The Workload Identity pool, which the identity module binds service accounts in."
  value       = "${var.project_id}.svc.id.goog"
}
