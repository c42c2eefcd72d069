# prod on AWS. Everything else is the stack's default (terraform/stacks/aws/variables.tf).
environment = "prod"
region      = "us-east-1"
bucket_name = "streamhouse-prod-records-111111111111"

public_access_cidrs     = ["203.0.113.0/24"]
agent_nodes             = { min = 3, desired = 6, max = 12 }
karpenter_cpu_limit     = 256
database_instance_class = "db.r6g.xlarge"
database_readers        = 2
bucket_kms              = true
glacier_ir_after_days   = 180
replication_bucket_arn  = "arn:aws:s3:::streamhouse-prod-records-replica-111111111111"
