"""The program: compose the components for the configured target and export the outputs.

target "aws":     Network -> Cluster -> Kafka, Storage -> Iam -> App (on the new EKS cluster)
target "cluster": App only, into the cluster of `lfd:kubeconfig` (the local stack, an existing cluster)

One program with a target switch rather than two stacks joined by a StackReference: the app layer is the
same code in both, the local `pulumi up` (tests/pulumi/test_local_up.py) exercises exactly what EKS gets,
and a user with a cluster already needs one stack, not two.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pulumi_kubernetes as k8s

import pulumi
from lfd_cloud import settings as settings_mod
from lfd_cloud.app import App
from lfd_cloud.cluster import Cluster
from lfd_cloud.iam import Iam
from lfd_cloud.kafka import Kafka
from lfd_cloud.network import Network
from lfd_cloud.settings import Settings
from lfd_cloud.storage import Storage
from lfd_cloud.values import Wiring, chart_values


def load() -> Settings:
    """Settings from this stack's config (``lfd:*``); ``aws:region`` when ``lfd:region`` is not set."""
    config = pulumi.Config("lfd")
    raw: dict[str, Any] = {}
    for f in fields(Settings):
        key = settings_mod.camel(f.name)
        value = config.get(key)
        if value is not None:
            raw[key] = value
    region = pulumi.Config("aws").get("region")
    if "region" not in raw and region:
        raw["region"] = region
    return settings_mod.parse(raw)


def run(settings: Settings | None = None) -> None:
    settings = settings or load()
    if settings.target == "cluster":
        provider = k8s.Provider("target", kubeconfig=settings.kubeconfig, namespace=settings.namespace)
        app = App("app", settings, provider=provider, values=chart_values(settings, Wiring()))
        pulumi.export("scoringEndpoint", app.scoring_endpoint)
        pulumi.export("mlflowUrl", app.mlflow_url)
        return

    network = Network("network", settings)
    cluster = Cluster("cluster", settings, network)
    kafka = Kafka("kafka", settings, network)
    storage = Storage("storage", settings)
    iam = Iam(
        "iam",
        settings,
        oidc_provider_arn=cluster.oidc_provider_arn,
        oidc_issuer=cluster.oidc_issuer,
        bucket_arn=storage.bucket_arn,
        kafka_arn=kafka.arn,
    )
    images = sorted(storage.repository_urls)
    roles = sorted(iam.role_arns)
    values = pulumi.Output.all(
        storage.bucket,
        kafka.bootstrap_brokers,
        *[storage.repository_urls[i] for i in images],
        *[iam.role_arns[r] for r in roles],
    ).apply(
        lambda v: chart_values(
            settings,
            Wiring(
                bucket=v[0],
                kafka_bootstrap=v[1],
                repository_urls=dict(zip(images, v[2 : 2 + len(images)], strict=True)),
                role_arns=dict(zip(roles, v[2 + len(images) :], strict=True)),
            ),
        )
    )
    app = App("app", settings, provider=cluster.provider, values=values)
    pulumi.export("kubeconfig", pulumi.Output.secret(cluster.kubeconfig))
    pulumi.export("bootstrapBrokers", kafka.bootstrap_brokers)
    pulumi.export("scoringEndpoint", app.scoring_endpoint)
    pulumi.export("mlflowUrl", app.mlflow_url)
    pulumi.export("bucket", storage.bucket)
    pulumi.export("repositoryUrls", storage.repository_urls)
    pulumi.export("roleArns", iam.role_arns)
