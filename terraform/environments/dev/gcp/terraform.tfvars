# dev on Google Cloud. Everything else is the stack's default (terraform/stacks/gcp/variables.tf).
environment     = "dev"
project_id      = "streamhouse-dev-example"
region          = "us-central1"
bucket_name     = "streamhouse-dev-records-example"
bucket_location = "US-CENTRAL1"

master_authorized_cidrs = ["203.0.113.0/24"]
agent_nodes_per_zone    = { min = 1, max = 2 }
database_tier           = "db-custom-2-8192"
database_readers        = 0
deletion_protection     = false
