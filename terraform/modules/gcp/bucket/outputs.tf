output "bucket_name" {
  description = "The bucket agents write to ([object_store] bucket)."
  value       = google_storage_bucket.this.name
}

output "bucket_id" {
  description = "The bucket, for the identity module's IAM bindings."
  value       = google_storage_bucket.this.name
}
