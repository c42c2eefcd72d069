output "agent_identity" {
  description = "The agents' IAM role ARN (eks.amazonaws.com/role-arn of the streamhouse-agent service account)."
  value       = aws_iam_role.this["agent"].arn
}

output "control_plane_identity" {
  description = "The control plane's IAM role ARN."
  value       = aws_iam_role.this["control-plane"].arn
}

output "secrets_identity" {
  description = "The External Secrets Operator's IAM role ARN."
  value       = aws_iam_role.this["secrets"].arn
}
