"""Storage: one S3 bucket for MLflow artifacts (prefix ``mlflow/``) and Flink checkpoints, savepoints and
HA metadata (prefix ``flink/``) - SSE-KMS with a customer-managed key, versioned, public access blocked,
objects owned by the bucket owner (no ACLs), TLS-only bucket policy; and one ECR repository per image
(scan on push, immutable tags, KMS-encrypted)."""

from __future__ import annotations

import json
from typing import Any

import pulumi_aws as aws

import pulumi
from lfd_cloud import documents
from lfd_cloud.common import child, kms_key, tags
from lfd_cloud.settings import Settings

#: Our three images (services/scoring, operator, pipelines/lfd/streaming Dockerfiles).
IMAGES = ("scoring", "operator", "streaming")
MLFLOW_PREFIX = "mlflow"
FLINK_PREFIX = "flink"


class Storage(pulumi.ComponentResource):
    bucket: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    repository_urls: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lfd:cloud:Storage", name, None, opts)
        key = kms_key(self, settings, f"{name}-kms", "S3 artifacts and state, ECR images")
        bucket = aws.s3.Bucket(
            f"{name}-artifacts",
            bucket_prefix=f"{settings.name}-artifacts-",
            force_destroy=False,
            tags=tags(settings, f"{name}-artifacts"),
            opts=child(self),
        )

        def attach(resource: Any, **args: Any) -> Any:
            """One of the bucket's settings: named as the bucket (same URNs as before), on it, our child."""
            return resource(f"{name}-artifacts", bucket=bucket.id, **{"opts": child(self), **args})

        block = attach(
            aws.s3.BucketPublicAccessBlock,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        attach(
            aws.s3.BucketOwnershipControls,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        )
        sse = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
            sse_algorithm="aws:kms", kms_master_key_id=key.arn
        )
        sse_rule = aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=sse, bucket_key_enabled=True
        )
        attach(aws.s3.BucketServerSideEncryptionConfiguration, rules=[sse_rule])
        attach(
            aws.s3.BucketVersioning,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
        )
        expire_old_versions = aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="expire-old-versions",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=30
            ),
            abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=7
            ),
        )
        attach(aws.s3.BucketLifecycleConfiguration, rules=[expire_old_versions])
        attach(
            aws.s3.BucketPolicy,
            policy=bucket.arn.apply(lambda arn: json.dumps(documents.tls_only_bucket(arn))),
            opts=child(self, depends_on=[block]),
        )
        self.repository_urls = {}
        for image in IMAGES:
            repo = aws.ecr.Repository(
                f"{name}-{image}",
                name=f"{settings.name}/{image}",
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
                encryption_configurations=[
                    aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS", kms_key=key.arn)
                ],
                tags=tags(settings, f"{name}-{image}"),
                opts=child(self),
            )
            self.repository_urls[image] = repo.repository_url
        self.bucket = bucket.bucket
        self.bucket_arn = bucket.arn
        self.register_outputs({"bucket": self.bucket, "repositoryUrls": self.repository_urls})
