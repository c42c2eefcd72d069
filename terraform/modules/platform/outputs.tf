output "argocd_namespace" {
  description = "Where the Argo CD Applications in kustomize/argocd go."
  value       = helm_release.argocd.namespace
}

output "external_secrets_namespace" {
  description = "The External Secrets Operator's namespace."
  value       = helm_release.external_secrets.namespace
}
