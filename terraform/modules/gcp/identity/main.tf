# GKE Workload Identity: the streamhouse-agent Kubernetes service account acts as a Google
# service account that may use the records bucket and nothing else; the External Secrets
# Operator's acts as one that may read StreamHouse's two secrets. The agents' cluster secret
# is made here too: it is how agents prove themselves to each other.

resource "google_service_account" "agent" {
  project      = var.project_id
  account_id   = "${var.name}-agent"
  display_name = "StreamHouse agents"
}

resource "google_service_account" "secrets" {
  project      = var.project_id
  account_id   = "${var.name}-secrets"
  display_name = "External Secrets Operator (StreamHouse)"
}

resource "google_service_account_iam_member" "agent" {
  service_account_id = google_service_account.agent.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${var.workload_pool}[${var.namespace}/streamhouse-agent]"
}

resource "google_service_account_iam_member" "secrets" {
  service_account_id = google_service_account.secrets.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${var.workload_pool}[external-secrets/external-secrets]"
}

# Read, write, list and delete objects of this bucket only.
resource "google_storage_bucket_iam_member" "agent" {
  bucket = var.bucket_id
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.agent.email}"
}

resource "random_password" "cluster" {
  length  = 64
  special = false
}

resource "google_secret_manager_secret" "cluster" {
  project   = var.project_id
  secret_id = "streamhouse-cluster-secret"
  labels    = var.labels
  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "cluster" {
  secret      = google_secret_manager_secret.cluster.id
  secret_data = random_password.cluster.result
}

resource "google_secret_manager_secret_iam_member" "secrets" {
  for_each  = { metadata = var.metadata_secret_id, cluster = google_secret_manager_secret.cluster.id }
  project   = var.project_id
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.secrets.email}"
}
