"""What every component shares: tags, child options, and the customer-managed KMS keys each concern owns."""

from __future__ import annotations

import json
from typing import Any

import pulumi_aws as aws

import pulumi
from lfd_cloud import documents
from lfd_cloud.settings import Settings

#: Tags every taggable AWS resource carries (the policy `required-tags` checks them).
REQUIRED_TAGS = ("project", "environment", "managed-by", "Name")


def tags(settings: Settings, name: str, **extra: str) -> dict[str, str]:
    return {
        "project": "live-fraud-detector",
        "environment": settings.environment,
        "managed-by": "pulumi",
        "Name": name,
        **extra,
    }


def child(parent: pulumi.Resource, **kwargs: Any) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent, **kwargs)


def kms_key(parent: pulumi.Resource, settings: Settings, name: str, purpose: str) -> aws.kms.Key:
    """A rotated customer-managed key; the account administers it and CloudWatch Logs may use it, so one
    key encrypts a concern's data and its log group."""
    identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=parent))
    policy = identity.account_id.apply(lambda account: json.dumps(documents.kms_key_for_logs(account, settings.region)))
    return aws.kms.Key(
        name,
        description=f"{settings.name}: {purpose}",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=policy,
        tags=tags(settings, name),
        opts=child(parent),
    )
