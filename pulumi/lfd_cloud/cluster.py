"""Cluster: EKS through ``pulumi_eks.Cluster`` (a remote component: its inputs are what we control and
what the tests assert). Nodes are a managed node group in the private node subnets, never with public
IPs; the OIDC provider enables IRSA; every control-plane log type goes to CloudWatch; Kubernetes Secrets
are envelope-encrypted with a KMS key; the API endpoint is private, optionally public for listed CIDRs."""

from __future__ import annotations

import json
from typing import Any

import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

import pulumi
from lfd_cloud import documents
from lfd_cloud.common import child, kms_key, tags
from lfd_cloud.network import Network
from lfd_cloud.settings import Settings

CONTROL_PLANE_LOGS = ("api", "audit", "authenticator", "controllerManager", "scheduler")
NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
)


class Cluster(pulumi.ComponentResource):
    kubeconfig: pulumi.Output[Any]
    oidc_provider_arn: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    provider: k8s.Provider

    def __init__(
        self, name: str, settings: Settings, network: Network, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("lfd:cloud:Cluster", name, None, opts)
        secrets_key = kms_key(self, settings, f"{name}-secrets", "EKS Secrets envelope encryption")
        node_role = aws.iam.Role(
            f"{name}-nodes",
            assume_role_policy=json.dumps(documents.assume_by_service("ec2.amazonaws.com")),
            managed_policy_arns=list(NODE_POLICIES),
            tags=tags(settings, f"{name}-nodes"),
            opts=child(self),
        )
        cluster = eks.Cluster(
            f"{name}-eks",
            name=settings.name,
            version=settings.kubernetes_version,
            vpc_id=network.vpc_id,
            public_subnet_ids=network.public_subnet_ids,
            private_subnet_ids=network.node_subnet_ids,
            node_associate_public_ip_address=False,
            endpoint_private_access=True,
            endpoint_public_access=settings.cluster_public_endpoint,
            public_access_cidrs=list(settings.public_access_cidrs) if settings.cluster_public_endpoint else None,
            create_oidc_provider=True,
            enabled_cluster_log_types=list(CONTROL_PLANE_LOGS),
            encryption_config_key_arn=secrets_key.arn,
            authentication_mode=eks.AuthenticationMode.API,
            skip_default_node_group=True,
            instance_roles=[node_role],
            tags=tags(settings, f"{name}-eks"),
            opts=child(self),
        )
        eks.ManagedNodeGroup(
            f"{name}-nodes",
            cluster=cluster,
            node_role=node_role,
            subnet_ids=network.node_subnet_ids,
            instance_types=[settings.node_instance_type],
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                desired_size=settings.node_count, min_size=settings.node_count, max_size=settings.node_max_count
            ),
            disk_size=50,
            tags=tags(settings, f"{name}-nodes"),
            opts=child(self),
        )
        self.kubeconfig = cluster.kubeconfig_json
        self.oidc_provider_arn = cluster.oidc_provider_arn
        self.oidc_issuer = cluster.oidc_issuer
        self.provider = k8s.Provider(f"{name}-k8s", kubeconfig=cluster.kubeconfig_json, opts=child(self))
        self.register_outputs({"kubeconfig": self.kubeconfig, "oidcProviderArn": self.oidc_provider_arn})
