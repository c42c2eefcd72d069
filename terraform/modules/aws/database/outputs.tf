output "endpoint" {
  description = "The writer's address."
  value       = local.writer
}

output "reader_endpoint" {
  description = "Aurora's reader endpoint; empty for RDS or without readers."
  value       = local.reader
}

output "port" {
  description = "PostgreSQL's port."
  value       = 5432
}

output "database_name" {
  description = "The database StreamHouse uses."
  value       = local.database
}

output "username" {
  description = "The IAM-authenticated user of the agents and the control plane."
  value       = local.user
}

output "secret_name" {
  description = "The Secrets Manager secret External Secrets reads (streamhouse-metadata)."
  value       = aws_secretsmanager_secret.metadata.name
}

output "secret_arn" {
  description = "ARN of that secret."
  value       = aws_secretsmanager_secret.metadata.arn
}

output "kms_key_arn" {
  description = "The key encrypting the database and its secret."
  value       = aws_kms_key.this.arn
}

output "connect_arn" {
  description = "The rds-db:connect resource of the StreamHouse user, for the identity module."
  value       = "arn:aws:rds-db:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:dbuser:${local.resource_id}/${local.user}"
}

output "master_secret_arn" {
  description = "The RDS-managed secret of the postgres master user (to create the streamhouse user)."
  value       = local.aurora ? aws_rds_cluster.this[0].master_user_secret[0].secret_arn : aws_db_instance.this[0].master_user_secret[0].secret_arn
}
