output "cluster_name" {
  description = "The cluster's name (for `aws eks update-kubeconfig --name`)."
  value       = aws_eks_cluster.this.name
}

output "cluster_endpoint" {
  description = "The Kubernetes API's address."
  value       = aws_eks_cluster.this.endpoint
}

output "cluster_ca_certificate" {
  description = "The Kubernetes API's CA certificate, PEM."
  value       = base64decode(aws_eks_cluster.this.certificate_authority[0].data)
}

output "oidc_provider_arn" {
  description = "The IRSA OIDC provider, which the identity module's roles trust."
  value       = aws_iam_openid_connect_provider.this.arn
}

output "oidc_issuer" {
  description = "The cluster's OIDC issuer, without https://."
  value       = local.oidc
}

output "node_security_group_id" {
  description = "The cluster security group of the nodes, which the database admits."
  value       = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
}
