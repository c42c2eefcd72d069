# staging on AWS. Everything else is the stack's default (terraform/stacks/aws/variables.tf).
environment = "staging"
region      = "us-east-1"
bucket_name = "streamhouse-staging-records-111111111111"

public_access_cidrs    = ["203.0.113.0/24"]
agent_nodes            = { min = 3, desired = 3, max = 6 }
karpenter_cpu_limit    = 64
database_serverless_v2 = true
database_readers       = 1
