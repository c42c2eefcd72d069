# dev on AWS. Everything else is the stack's default (terraform/stacks/aws/variables.tf).
environment = "dev"
region      = "us-east-1"
bucket_name = "streamhouse-dev-records-111111111111"

public_access_cidrs     = ["203.0.113.0/24"]
single_nat_gateway      = true
system_nodes            = { min = 2, desired = 2, max = 3 }
agent_nodes             = { min = 2, desired = 2, max = 4 }
karpenter_cpu_limit     = 16
database_engine         = "rds"
database_instance_class = "db.t4g.medium"
database_readers        = 0
deletion_protection     = false
