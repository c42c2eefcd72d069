# staging on Google Cloud. Everything else is the stack's default (terraform/stacks/gcp/variables.tf).
environment     = "staging"
project_id      = "streamhouse-staging-example"
region          = "us-central1"
bucket_name     = "streamhouse-staging-records-example"
bucket_location = "US-CENTRAL1"

master_authorized_cidrs = ["203.0.113.0/24"]
agent_nodes_per_zone    = { min = 1, max = 4 }
