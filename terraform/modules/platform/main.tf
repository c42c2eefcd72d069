# What the manifests in kustomize/ rely on, the same on every cloud: the External Secrets
# Operator (secrets from the cloud's secret manager) and Argo CD, which syncs
# kustomize/overlays/<env>-<cloud> (kustomize/argocd).

resource "helm_release" "external_secrets" {
  name             = "external-secrets"
  namespace        = "external-secrets"
  create_namespace = true
  repository       = "https://charts.external-secrets.io"
  chart            = "external-secrets"
  version          = var.external_secrets_version
  values = [yamlencode({
    installCRDs    = true
    serviceAccount = { name = "external-secrets", annotations = var.external_secrets_annotations }
    podLabels      = var.external_secrets_pod_labels
    nodeSelector   = { "streamhouse.io/pool" = "system" }
  })]
}

resource "helm_release" "argocd" {
  name             = "argocd"
  namespace        = "argocd"
  create_namespace = true
  repository       = "https://argoproj.github.io/argo-helm"
  chart            = "argo-cd"
  version          = var.argocd_version
  values = [yamlencode({
    global = { nodeSelector = { "streamhouse.io/pool" = "system" } }
  })]
}
