output "namespace" {
  description = "The monitoring namespace."
  value       = helm_release.this.namespace
}

output "prometheus_url" {
  description = "Prometheus inside the cluster."
  value       = "http://kube-prometheus-stack-prometheus.${helm_release.this.namespace}.svc:9090"
}

output "grafana_url" {
  description = "Grafana inside the cluster (kubectl port-forward to reach it)."
  value       = "http://kube-prometheus-stack-grafana.${helm_release.this.namespace}.svc:80"
}
