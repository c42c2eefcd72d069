# A regional GKE cluster: private nodes, Workload Identity, Dataplane V2 (which enforces the
# NetworkPolicies), an on-demand system pool and a spot pool for the agents with the same
# label and taint as on the other clouds.

resource "google_service_account" "nodes" {
  project      = var.project_id
  account_id   = "${var.name}-nodes"
  display_name = "${var.name} GKE nodes"
}

resource "google_project_iam_member" "nodes" {
  for_each = toset([
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/artifactregistry.reader",
  ])
  project = var.project_id
  role    = each.key
  member  = "serviceAccount:${google_service_account.nodes.email}"
}

resource "google_container_cluster" "this" {
  project                     = var.project_id
  name                        = var.name
  location                    = var.region
  network                     = var.network_id
  subnetwork                  = var.private_subnet_ids[0]
  remove_default_node_pool    = true
  initial_node_count          = 1
  datapath_provider           = "ADVANCED_DATAPATH"
  enable_shielded_nodes       = true
  enable_intranode_visibility = true
  deletion_protection         = true
  resource_labels             = var.labels

  release_channel {
    channel = var.release_channel
  }

  workload_identity_config {
    workload_pool = "${var.project_id}.svc.id.goog"
  }

  ip_allocation_policy {
    cluster_secondary_range_name  = "pods"
    services_secondary_range_name = "services"
  }

  private_cluster_config {
    enable_private_nodes    = true
    enable_private_endpoint = length(var.master_authorized_cidrs) == 0
    master_ipv4_cidr_block  = "172.16.0.0/28"
  }

  master_authorized_networks_config {
    dynamic "cidr_blocks" {
      for_each = var.master_authorized_cidrs
      content {
        cidr_block = cidr_blocks.value
      }
    }
  }

  binary_authorization {
    evaluation_mode = "PROJECT_SINGLETON_POLICY_ENFORCE"
  }

  master_auth {
    client_certificate_config {
      issue_client_certificate = false
    }
  }

  node_config {
    service_account = google_service_account.nodes.email
    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }
    workload_metadata_config {
      mode = "GKE_METADATA"
    }
  }

  logging_config {
    enable_components = ["SYSTEM_COMPONENTS", "WORKLOADS", "APISERVER"]
  }
}

resource "google_container_node_pool" "system" {
  project            = var.project_id
  name               = "system"
  cluster            = google_container_cluster.this.id
  initial_node_count = var.system_nodes_per_zone.min
  autoscaling {
    min_node_count = var.system_nodes_per_zone.min
    max_node_count = var.system_nodes_per_zone.max
  }
  management {
    auto_repair  = true
    auto_upgrade = true
  }
  node_config {
    machine_type    = var.system_machine_type
    service_account = google_service_account.nodes.email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]
    labels          = { "streamhouse.io/pool" = "system" }
    image_type      = "COS_CONTAINERD"
    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }
    workload_metadata_config {
      mode = "GKE_METADATA"
    }
    metadata = { disable-legacy-endpoints = "true" }
  }
}

# Spot VMs for the agents: GKE gives 30 s notice, which the agents' preStop sleep and
# SIGTERM handover fit in when the flush completes quickly (docs/deploy.md).
resource "google_container_node_pool" "agents" {
  project            = var.project_id
  name               = "agents-spot"
  cluster            = google_container_cluster.this.id
  initial_node_count = var.agent_nodes_per_zone.min
  autoscaling {
    min_node_count = var.agent_nodes_per_zone.min
    max_node_count = var.agent_nodes_per_zone.max
  }
  management {
    auto_repair  = true
    auto_upgrade = true
  }
  node_config {
    machine_type    = var.agent_machine_type
    spot            = true
    service_account = google_service_account.nodes.email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]
    labels          = { "streamhouse.io/pool" = "agents" }
    image_type      = "COS_CONTAINERD"
    taint {
      key    = "streamhouse.io/pool"
      value  = "agents"
      effect = "NO_SCHEDULE"
    }
    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }
    workload_metadata_config {
      mode = "GKE_METADATA"
    }
    metadata = { disable-legacy-endpoints = "true" }
  }
}
