"""App: the Helm release of charts/live-fraud-detector (CRD, operator, FraudModels, optional MLflow and
streaming job) in its own namespace, through an explicit Kubernetes provider - the EKS cluster's for
target "aws", the kubeconfig's for target "cluster"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi_kubernetes as k8s

import pulumi
from lfd_cloud.settings import Settings
from lfd_cloud.values import release_fullname

CHART = Path(__file__).resolve().parents[2] / "charts" / "live-fraud-detector"


class App(pulumi.ComponentResource):
    scoring_endpoint: pulumi.Output[str]
    mlflow_url: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        settings: Settings,
        *,
        provider: k8s.Provider,
        values: pulumi.Input[dict[str, Any]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("lfd:cloud:App", name, None, opts)
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=provider)
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=settings.namespace,
                # Every pod of the chart runs non-root without privileges: enforce it for the namespace.
                labels={"pod-security.kubernetes.io/enforce": "restricted", "app.kubernetes.io/part-of": "lfd"},
            ),
            opts=k8s_opts,
        )
        release = k8s.helm.v3.Release(
            f"{name}-release",
            name=settings.release_name,
            chart=str(CHART),
            namespace=namespace.metadata.name,
            values=values,
            timeout=600,
            max_history=10,
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[namespace]),
        )
        first = settings.fraud_models[0]["name"] if settings.fraud_models else None
        self.scoring_endpoint = pulumi.Output.from_input(
            f"http://{first}.{settings.namespace}.svc:3000" if first else ""
        )
        mlflow = f"http://{release_fullname(settings.release_name)}-mlflow.{settings.namespace}.svc:5000"
        self.mlflow_url = pulumi.Output.from_input(mlflow if settings.mlflow_enabled else "")
        self.release_name = release.name
        self.register_outputs({"scoringEndpoint": self.scoring_endpoint, "mlflowUrl": self.mlflow_url})
