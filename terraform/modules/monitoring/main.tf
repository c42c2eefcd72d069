# The kube-prometheus-stack: Prometheus (with the operator that loads StreamHouse's
# ServiceMonitors and PrometheusRule from kustomize/base), Alertmanager and Grafana, whose
# sidecar loads the dashboards in observability/grafana from their ConfigMaps. The same on
# every cloud, so one alert and dashboard set serves all three.

resource "helm_release" "this" {
  name             = "kube-prometheus-stack"
  namespace        = var.namespace
  create_namespace = true
  repository       = "https://prometheus-community.github.io/helm-charts"
  chart            = "kube-prometheus-stack"
  version          = var.chart_version
  values = [yamlencode({
    prometheus = {
      prometheusSpec = {
        retention = var.retention
        # The release label, which StreamHouse's ServiceMonitors and PrometheusRule carry.
        ruleSelector                    = { matchLabels = { release = "kube-prometheus-stack" } }
        serviceMonitorSelector          = { matchLabels = { release = "kube-prometheus-stack" } }
        ruleNamespaceSelector           = {}
        serviceMonitorNamespaceSelector = {}
        storageSpec = {
          volumeClaimTemplate = {
            spec = {
              storageClassName = var.storage_class
              accessModes      = ["ReadWriteOnce"]
              resources        = { requests = { storage = var.storage_size } }
            }
          }
        }
        nodeSelector = { "streamhouse.io/pool" = "system" }
      }
    }
    alertmanager = merge(
      { alertmanagerSpec = { nodeSelector = { "streamhouse.io/pool" = "system" } } },
      var.alertmanager_receiver == "" ? {} : { config = yamldecode(var.alertmanager_receiver) },
    )
    grafana = {
      nodeSelector = { "streamhouse.io/pool" = "system" }
      sidecar = {
        dashboards = {
          enabled          = true
          label            = "grafana_dashboard"
          labelValue       = "1"
          searchNamespace  = "ALL"
          folderAnnotation = "grafana_folder"
          provider         = { foldersFromFilesStructure = true }
        }
      }
    }
  })]
}
