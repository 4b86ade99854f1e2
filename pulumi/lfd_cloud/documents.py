"""IAM policy documents as pure functions: least privilege, read by the tests and by the policy rules.

Every statement names its resources; the only wildcard suffixes are object keys under a prefix, topic and
group names the job owns, and its transactional-id prefix. MSK ARNs follow
``arn:aws:kafka:<region>:<account>:<kind>/<cluster-name>/<cluster-uuid>[/<name>]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Document = dict[str, Any]

#: The audience of a projected ServiceAccount token that EKS exchanges for AWS credentials (IRSA).
IRSA_AUDIENCE = "sts.amazonaws.com"


def _doc(*statements: dict[str, Any]) -> Document:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def irsa_trust(oidc_provider_arn: str, issuer: str, namespace: str, service_account: str) -> Document:
    """Only this ServiceAccount of this namespace (``sub``), with the STS audience (``aud``), may assume."""
    issuer = issuer.removeprefix("https://")
    return _doc(
        {
            "Effect": "Allow",
            "Principal": {"Federated": oidc_provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                    f"{issuer}:aud": IRSA_AUDIENCE,
                }
            },
        }
    )


def s3_prefix(bucket_arn: str, prefix: str, *, write: bool) -> Document:
    """Objects under ``<bucket>/<prefix>/`` only; listing only of that prefix."""
    actions = ["s3:GetObject", "s3:GetObjectVersion"]
    if write:
        actions += ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    return _doc(
        {"Sid": "Objects", "Effect": "Allow", "Action": actions, "Resource": f"{bucket_arn}/{prefix}/*"},
        {
            "Sid": "ListPrefix",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/*", prefix]}},
        },
    )


def msk_arns(cluster_arn: str, kind: str, name: str) -> str:
    """The ARN of a topic, group or transactional id of the cluster ``cluster_arn``."""
    head, sep, tail = cluster_arn.partition(":cluster/")
    if not sep:
        raise ValueError(f"not an MSK cluster ARN: {cluster_arn!r}")
    return f"{head}:{kind}/{tail}/{name}"


def msk_streaming_job(
    cluster_arn: str, *, read_topics: Sequence[str], write_topics: Sequence[str], group: str, txn_prefix: str
) -> Document:
    """What the exactly-once job needs over IAM auth, and nothing else: connect; read its input; write its
    outputs idempotently and transactionally; its own consumer group and transactional ids."""

    def topic(name: str) -> str:
        return msk_arns(cluster_arn, "topic", name)

    return _doc(
        {
            "Sid": "Connect",
            "Effect": "Allow",
            "Action": ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster", "kafka-cluster:WriteDataIdempotently"],
            "Resource": cluster_arn,
        },
        {
            "Sid": "ReadInput",
            "Effect": "Allow",
            "Action": ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"],
            "Resource": [topic(t) for t in read_topics],
        },
        {
            "Sid": "WriteOutputs",
            "Effect": "Allow",
            "Action": ["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"],
            "Resource": [topic(t) for t in write_topics],
        },
        {
            "Sid": "ConsumerGroup",
            "Effect": "Allow",
            "Action": ["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"],
            "Resource": msk_arns(cluster_arn, "group", group),
        },
        {
            "Sid": "Transactions",
            "Effect": "Allow",
            "Action": ["kafka-cluster:DescribeTransactionalId", "kafka-cluster:AlterTransactionalId"],
            "Resource": msk_arns(cluster_arn, "transactional-id", f"{txn_prefix}*"),
        },
    )


def tls_only_bucket(bucket_arn: str) -> Document:
    """Deny every request that does not use TLS (aws:SecureTransport false)."""
    return _doc(
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )


def kms_key_for_logs(account_id: str, region: str) -> Document:
    """A KMS key policy: the account administers it; CloudWatch Logs of this account and region may use it."""
    return _doc(
        {
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "CloudWatchLogsEncrypt",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{region}.amazonaws.com"},
            "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            "Resource": "*",
            "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{region}:{account_id}:*"}},
        },
    )


def flow_logs_delivery(log_group_arn: str) -> Document:
    """The VPC flow-log service writes streams of its own log group only."""
    return _doc(
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": [log_group_arn, f"{log_group_arn}:*"],
        }
    )


def assume_by_service(service: str) -> Document:
    return _doc({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})
