# Karpenter: more agent nodes when the agents' HorizontalPodAutoscaler outgrows the spot
# node group: c6i.xlarge or 2xlarge, spot first, on-demand when spot has none. Spot
# interruption notices arrive through an SQS queue, so Karpenter drains a node (the agents
# hand their partitions over on SIGTERM) before AWS reclaims it.

resource "aws_iam_role" "karpenter" {
  name               = "${var.name}-karpenter"
  assume_role_policy = data.aws_iam_policy_document.controller_assume["karpenter"].json
  tags               = var.tags
}

data "aws_iam_policy_document" "karpenter" {
  statement {
    sid = "Provision"
    actions = [
      "ec2:CreateFleet", "ec2:CreateLaunchTemplate", "ec2:CreateTags", "ec2:DeleteLaunchTemplate",
      "ec2:RunInstances", "ec2:TerminateInstances", "ec2:DescribeAvailabilityZones",
      "ec2:DescribeImages", "ec2:DescribeInstances", "ec2:DescribeInstanceTypeOfferings",
      "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplates", "ec2:DescribeSecurityGroups",
      "ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets", "pricing:GetProducts",
      "ssm:GetParameter",
    ]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [data.aws_region.current.name]
    }
  }
  statement {
    sid       = "PassNodeRole"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.node.arn]
  }
  statement {
    sid = "InstanceProfiles"
    actions = [
      "iam:AddRoleToInstanceProfile", "iam:CreateInstanceProfile", "iam:DeleteInstanceProfile",
      "iam:GetInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:TagInstanceProfile",
    ]
    resources = ["arn:${data.aws_partition.current.partition}:iam::${local.account}:instance-profile/*"]
  }
  statement {
    sid       = "Cluster"
    actions   = ["eks:DescribeCluster"]
    resources = [aws_eks_cluster.this.arn]
  }
  statement {
    sid       = "Interruptions"
    actions   = ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"]
    resources = [aws_sqs_queue.interruptions.arn]
  }
}

resource "aws_iam_role_policy" "karpenter" {
  name   = "karpenter"
  role   = aws_iam_role.karpenter.id
  policy = data.aws_iam_policy_document.karpenter.json
}

resource "aws_sqs_queue" "interruptions" {
  name                      = "${var.name}-karpenter"
  message_retention_seconds = 300
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

data "aws_iam_policy_document" "interruptions" {
  statement {
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.interruptions.arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "sqs.amazonaws.com"]
    }
  }
}

resource "aws_sqs_queue_policy" "interruptions" {
  queue_url = aws_sqs_queue.interruptions.url
  policy    = data.aws_iam_policy_document.interruptions.json
}

resource "aws_cloudwatch_event_rule" "interruptions" {
  for_each = {
    spot-interruption = { source = ["aws.ec2"], "detail-type" = ["EC2 Spot Instance Interruption Warning"] }
    rebalance         = { source = ["aws.ec2"], "detail-type" = ["EC2 Instance Rebalance Recommendation"] }
    state-change      = { source = ["aws.ec2"], "detail-type" = ["EC2 Instance State-change Notification"] }
    health            = { source = ["aws.health"], "detail-type" = ["AWS Health Event"] }
  }
  name          = "${var.name}-karpenter-${each.key}"
  event_pattern = jsonencode(each.value)
  tags          = var.tags
}

resource "aws_cloudwatch_event_target" "interruptions" {
  for_each = aws_cloudwatch_event_rule.interruptions
  rule     = each.value.name
  arn      = aws_sqs_queue.interruptions.arn
}

resource "helm_release" "karpenter" {
  name       = "karpenter"
  namespace  = "kube-system"
  repository = "oci://public.ecr.aws/karpenter"
  chart      = "karpenter"
  version    = var.karpenter_version
  values = [yamlencode({
    serviceAccount = {
      annotations = { "eks.amazonaws.com/role-arn" = aws_iam_role.karpenter.arn }
    }
    settings = {
      clusterName       = aws_eks_cluster.this.name
      interruptionQueue = aws_sqs_queue.interruptions.name
    }
    # On the system nodes, never on nodes it may remove.
    nodeSelector = { "streamhouse.io/pool" = "system" }
  })]
  depends_on = [aws_eks_node_group.system]
}

resource "kubectl_manifest" "node_class" {
  yaml_body = yamlencode({
    apiVersion = "karpenter.k8s.aws/v1"
    kind       = "EC2NodeClass"
    metadata   = { name = "agents" }
    spec = {
      role                       = aws_iam_role.node.name
      amiSelectorTerms           = [{ alias = "al2023@latest" }]
      subnetSelectorTerms        = [{ tags = { "karpenter.sh/discovery" = var.name } }]
      securityGroupSelectorTerms = [{ id = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id }]
      metadataOptions = {
        httpEndpoint            = "enabled"
        httpTokens              = "required"
        httpPutResponseHopLimit = 1
      }
      blockDeviceMappings = [{
        deviceName = "/dev/xvda"
        ebs        = { volumeSize = "50Gi", volumeType = "gp3", encrypted = true }
      }]
      tags = var.tags
    }
  })
  depends_on = [helm_release.karpenter]
}

resource "kubectl_manifest" "node_pool" {
  yaml_body = yamlencode({
    apiVersion = "karpenter.sh/v1"
    kind       = "NodePool"
    metadata   = { name = "agents" }
    spec = {
      template = {
        metadata = { labels = local.agent_label }
        spec = {
          nodeClassRef = { group = "karpenter.k8s.aws", kind = "EC2NodeClass", name = "agents" }
          taints       = [{ key = "streamhouse.io/pool", value = "agents", effect = "NoSchedule" }]
          requirements = [
            { key = "node.kubernetes.io/instance-type", operator = "In", values = var.agent_instance_types },
            # Spot first: Karpenter picks spot whenever it has capacity.
            { key = "karpenter.sh/capacity-type", operator = "In", values = ["spot", "on-demand"] },
          ]
          expireAfter = "720h"
        }
      }
      limits = { cpu = var.karpenter_cpu_limit }
      # Replace underused nodes slowly: each removal moves partitions.
      disruption = {
        consolidationPolicy = "WhenEmptyOrUnderutilized"
        consolidateAfter    = "10m"
        budgets             = [{ nodes = "1" }]
      }
    }
  })
  depends_on = [kubectl_manifest.node_class]
}
