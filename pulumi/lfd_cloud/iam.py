"""IAM: one IRSA role per workload ServiceAccount, each trusted only by that ServiceAccount (``sub``) with
the STS audience (``aud``), each allowed only what the workload does:

- mlflow   (SA ``mlflow``): read/write objects under ``mlflow/`` (it serves artifacts to everyone else);
- flink    (SA ``flink``): MSK connect, read the input topic, write the output topics, its group and its
  transactional ids; read/write objects under ``flink/`` (checkpoints, savepoints, HA);
- scoring  (SA ``fraud-scoring``): read objects under ``mlflow/`` (models, when artifacts are not proxied);
- operator (SA ``fraud-operator``): read objects under ``mlflow/`` (champion metrics and replay sets).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pulumi_aws as aws

import pulumi
from lfd_cloud import documents
from lfd_cloud.common import child, tags
from lfd_cloud.settings import Settings
from lfd_cloud.storage import FLINK_PREFIX, MLFLOW_PREFIX
from lfd_cloud.values import release_fullname

#: The chart's topic and group defaults (charts/live-fraud-detector/values.yaml, streaming.*).
INPUT_TOPICS = ("transactions",)
OUTPUT_TOPICS = ("scores", "fraud-alerts", "transactions-dlq", "scores-shadow")
CONSUMER_GROUP = "lfd-streaming"


@dataclass(frozen=True)
class Workload:
    service_account: str
    #: (bucket ARN, MSK cluster ARN, release fullname) -> the role's policy documents
    documents: Callable[[str, str, str], list[documents.Document]]


WORKLOADS: dict[str, Workload] = {
    "mlflow": Workload("mlflow", lambda b, _k, _f: [documents.s3_prefix(b, MLFLOW_PREFIX, write=True)]),
    "flink": Workload(
        "flink",
        lambda b, k, f: [
            documents.s3_prefix(b, FLINK_PREFIX, write=True),
            documents.msk_streaming_job(
                k,
                read_topics=INPUT_TOPICS,
                write_topics=OUTPUT_TOPICS,
                group=CONSUMER_GROUP,
                txn_prefix=f"{f}-streaming",
            ),
        ],
    ),
    "scoring": Workload("fraud-scoring", lambda b, _k, _f: [documents.s3_prefix(b, MLFLOW_PREFIX, write=False)]),
    "operator": Workload("fraud-operator", lambda b, _k, _f: [documents.s3_prefix(b, MLFLOW_PREFIX, write=False)]),
}


class Iam(pulumi.ComponentResource):
    role_arns: dict[str, pulumi.Output[str]]

    def __init__(
        self,
        name: str,
        settings: Settings,
        *,
        oidc_provider_arn: pulumi.Input[str],
        oidc_issuer: pulumi.Input[str],
        bucket_arn: pulumi.Input[str],
        kafka_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("lfd:cloud:Iam", name, None, opts)
        fullname = release_fullname(settings.release_name)
        self.role_arns = {}
        for workload, spec in WORKLOADS.items():
            role = self._role(name, workload, settings, spec, oidc_provider_arn, oidc_issuer)
            self._policies(f"{name}-{workload}", role, spec, bucket_arn, kafka_arn, fullname)
            self.role_arns[workload] = role.arn
        self.register_outputs({"roleArns": self.role_arns})

    def _role(
        self,
        name: str,
        workload: str,
        settings: Settings,
        spec: Workload,
        oidc_provider_arn: pulumi.Input[str],
        oidc_issuer: pulumi.Input[str],
    ) -> aws.iam.Role:
        def trust(args: list[str]) -> str:
            return json.dumps(documents.irsa_trust(args[0], args[1], settings.namespace, spec.service_account))

        return aws.iam.Role(
            f"{name}-{workload}",
            name=f"{settings.name}-{workload}",
            assume_role_policy=pulumi.Output.all(oidc_provider_arn, oidc_issuer).apply(trust),
            max_session_duration=3600,
            tags=tags(settings, f"{name}-{workload}", serviceaccount=f"{settings.namespace}/{spec.service_account}"),
            opts=child(self),
        )

    def _policies(
        self,
        name: str,
        role: aws.iam.Role,
        spec: Workload,
        bucket_arn: pulumi.Input[str],
        kafka_arn: pulumi.Input[str],
        fullname: str,
    ) -> None:
        """One inline policy per document (their count does not depend on the ARNs, only their text does)."""
        count = len(spec.documents("arn:aws:s3:::b", "arn:aws:kafka:r:1:cluster/c/u", fullname))
        for i in range(count):

            def render(args: list[str], i: int = i) -> str:
                return json.dumps(spec.documents(args[0], args[1], fullname)[i])

            aws.iam.RolePolicy(
                f"{name}-{i}",
                role=role.id,
                policy=pulumi.Output.all(bucket_arn, kafka_arn).apply(render),
                opts=child(self),
            )
