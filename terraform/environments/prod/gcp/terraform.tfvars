# prod on Google Cloud. Everything else is the stack's default (terraform/stacks/gcp/variables.tf).
environment     = "prod"
project_id      = "streamhouse-prod-example"
region          = "us-central1"
bucket_name     = "streamhouse-prod-records-example"
bucket_location = "NAM4"

master_authorized_cidrs = ["203.0.113.0/24"]
agent_nodes_per_zone    = { min = 2, max = 10 }
database_tier           = "db-custom-8-32768"
database_readers        = 2
coldline_after_days     = 180
