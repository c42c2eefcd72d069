# Cloud SQL for PostgreSQL, regional (HA: a synchronous standby in another zone), private
# address only, TLS required, 30 days of backups with point-in-time recovery, and read
# replicas. The agents reach it through PgBouncer with the password stored in Secret Manager.

locals {
  # Slow statements (over 1 s), schema changes, connections and lock waits are logged.
  flags = {
    log_min_duration_statement = "1000"
    log_statement              = "ddl"
    log_checkpoints            = "on"
    log_connections            = "on"
    log_disconnections         = "on"
    log_duration               = "on"
    log_hostname               = "on"
    log_lock_waits             = "on"
    log_min_messages           = "error"
    log_min_error_statement    = "error"
    "cloudsql.enable_pgaudit"  = "on"
  }
}

resource "google_sql_database_instance" "this" {
  project             = var.project_id
  name                = var.name
  region              = var.region
  database_version    = var.postgres_version
  deletion_protection = var.deletion_protection

  settings {
    tier              = var.tier
    availability_type = "REGIONAL"
    disk_type         = "PD_SSD"
    disk_autoresize   = true
    user_labels       = var.labels

    ip_configuration {
      ipv4_enabled    = false
      private_network = var.network_id
      ssl_mode        = "ENCRYPTED_ONLY"
    }

    backup_configuration {
      enabled                        = true
      point_in_time_recovery_enabled = true
      transaction_log_retention_days = 7
      start_time                     = "03:00"
      backup_retention_settings {
        retained_backups = var.backup_retention_days
        retention_unit   = "COUNT"
      }
    }

    insights_config {
      query_insights_enabled = true
    }

    dynamic "database_flags" {
      for_each = local.flags
      content {
        name  = database_flags.key
        value = database_flags.value
      }
    }
  }

  depends_on = [var.database_connection]
}

resource "google_sql_database_instance" "reader" {
  count                = var.readers
  project              = var.project_id
  name                 = "${var.name}-reader-${count.index}"
  region               = var.region
  database_version     = var.postgres_version
  master_instance_name = google_sql_database_instance.this.name
  deletion_protection  = var.deletion_protection
  settings {
    tier        = var.tier
    disk_type   = "PD_SSD"
    user_labels = var.labels
    dynamic "database_flags" {
      for_each = local.flags
      content {
        name  = database_flags.key
        value = database_flags.value
      }
    }
    ip_configuration {
      ipv4_enabled    = false
      private_network = var.network_id
      ssl_mode        = "ENCRYPTED_ONLY"
    }
  }
}

resource "google_sql_database" "this" {
  project  = var.project_id
  name     = "streamhouse"
  instance = google_sql_database_instance.this.name
}

resource "random_password" "this" {
  length  = 40
  special = false
}

resource "google_sql_user" "this" {
  project  = var.project_id
  name     = "streamhouse"
  instance = google_sql_database_instance.this.name
  password = random_password.this.result
}

# Read by the External Secrets Operator into the streamhouse-metadata Secret.
resource "google_secret_manager_secret" "metadata" {
  project   = var.project_id
  secret_id = "streamhouse-metadata"
  labels    = var.labels
  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "metadata" {
  secret = google_secret_manager_secret.metadata.id
  secret_data = jsonencode({
    url      = "postgres://streamhouse:${random_password.this.result}@${var.pgbouncer_url_host}:5432/streamhouse"
    host     = google_sql_database_instance.this.private_ip_address
    port     = "5432"
    dbname   = "streamhouse"
    username = "streamhouse"
    password = random_password.this.result
  })
}
