output "bucket_name" {
  description = "The bucket agents write to (S3_BUCKET)."
  value       = aws_s3_bucket.this.bucket
}

output "bucket_arn" {
  description = "The bucket's ARN, for the identity module."
  value       = aws_s3_bucket.this.arn
}

output "express_bucket_name" {
  description = "The S3 Express One Zone directory bucket; empty when not created."
  value       = var.express_one_zone ? aws_s3_directory_bucket.express[0].bucket : ""
}

output "express_bucket_arn" {
  description = "The directory bucket's ARN; empty when not created."
  value       = var.express_one_zone ? aws_s3_directory_bucket.express[0].arn : ""
}

output "bucket_id" {
  description = "The bucket's ARN: what the identity module grants access to."
  value       = aws_s3_bucket.this.arn
}
