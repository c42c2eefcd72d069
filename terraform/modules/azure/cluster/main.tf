# AKS: the OIDC issuer and Workload Identity, Azure CNI overlay with Cilium (which enforces
# the NetworkPolicies), an on-demand system pool over three zones and a spot pool for the
# agents with the same label and taint as on the other clouds.

resource "azurerm_log_analytics_workspace" "this" {
  count               = var.log_analytics_workspace_id == "" ? 1 : 0
  name                = var.name
  resource_group_name = var.resource_group_name
  location            = var.location
  sku                 = "PerGB2018"
  retention_in_days   = 90
  tags                = var.tags
}

resource "azurerm_kubernetes_cluster" "this" {
  name                              = var.name
  resource_group_name               = var.resource_group_name
  location                          = var.location
  dns_prefix                        = var.name
  kubernetes_version                = var.kubernetes_version
  sku_tier                          = "Standard"
  automatic_upgrade_channel         = "patch"
  node_os_upgrade_channel           = "NodeImage"
  oidc_issuer_enabled               = true
  workload_identity_enabled         = true
  local_account_disabled            = true
  role_based_access_control_enabled = true
  azure_policy_enabled              = true

  azure_active_directory_role_based_access_control {
    azure_rbac_enabled = true
  }

  api_server_access_profile {
    authorized_ip_ranges = var.api_authorized_cidrs
  }

  default_node_pool {
    name                         = "system"
    vm_size                      = var.system_vm_size
    vnet_subnet_id               = var.private_subnet_ids[0]
    zones                        = ["1", "2", "3"]
    auto_scaling_enabled         = true
    min_count                    = var.system_nodes.min
    max_count                    = var.system_nodes.max
    max_pods                     = 50
    host_encryption_enabled      = true
    os_disk_type                 = "Ephemeral"
    os_disk_size_gb              = 64
    only_critical_addons_enabled = false
    node_labels                  = { "streamhouse.io/pool" = "system" }
    upgrade_settings {
      max_surge = "33%"
    }
  }

  identity {
    type = "SystemAssigned"
  }

  network_profile {
    network_plugin      = "azure"
    network_plugin_mode = "overlay"
    network_data_plane  = "cilium"
    network_policy      = "cilium"
    load_balancer_sku   = "standard"
    outbound_type       = "userAssignedNATGateway"
  }

  oms_agent {
    log_analytics_workspace_id = var.log_analytics_workspace_id == "" ? azurerm_log_analytics_workspace.this[0].id : var.log_analytics_workspace_id
  }

  key_vault_secrets_provider {
    secret_rotation_enabled = true
  }

  tags = var.tags
}

# Spot VMs for the agents (evicted with 30 s notice; the cluster autoscaler replaces them).
resource "azurerm_kubernetes_cluster_node_pool" "agents" {
  name                    = "agentsspot"
  kubernetes_cluster_id   = azurerm_kubernetes_cluster.this.id
  vm_size                 = var.agent_vm_size
  vnet_subnet_id          = var.private_subnet_ids[0]
  zones                   = ["1", "2", "3"]
  priority                = "Spot"
  eviction_policy         = "Delete"
  spot_max_price          = -1
  auto_scaling_enabled    = true
  min_count               = var.agent_nodes.min
  max_count               = var.agent_nodes.max
  max_pods                = 50
  host_encryption_enabled = true
  os_disk_type            = "Ephemeral"
  os_disk_size_gb         = 64
  node_labels = {
    "streamhouse.io/pool"                   = "agents"
    "kubernetes.azure.com/scalesetpriority" = "spot"
  }
  node_taints = [
    "streamhouse.io/pool=agents:NoSchedule",
    # AKS puts this taint on every spot node; the agents tolerate it (kustomize/components/azure).
    "kubernetes.azure.com/scalesetpriority=spot:NoSchedule",
  ]
  tags = var.tags
}

# The cluster's identity joins load balancers and nodes to the subnet it did not create.
resource "azurerm_role_assignment" "network" {
  scope                = var.private_subnet_ids[0]
  role_definition_name = "Network Contributor"
  principal_id         = azurerm_kubernetes_cluster.this.identity[0].principal_id
}
