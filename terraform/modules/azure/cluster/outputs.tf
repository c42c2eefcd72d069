output "cluster_name" {
  description = "The cluster's name (for `az aks get-credentials`)."
  value       = azurerm_kubernetes_cluster.this.name
}

output "cluster_endpoint" {
  description = "The Kubernetes API's address."
  value       = azurerm_kubernetes_cluster.this.kube_config[0].host
}

output "cluster_ca_certificate" {
  description = "The Kubernetes API's CA certificate, PEM."
  value       = base64decode(azurerm_kubernetes_cluster.this.kube_config[0].cluster_ca_certificate)
  sensitive   = true
}

output "oidc_issuer_url" {
  description = "The cluster's OIDC issuer, which the identity module's federated credentials trust."
  value       = azurerm_kubernetes_cluster.this.oidc_issuer_url
}
