"""Where an analysis sends its requests: a Service's DNS name in-cluster (or its ClusterIP, read from the API,
where the cluster has no DNS), or a mapped local process in tests.

This machine's control plane simulates pods (kwok), so tests run a real ``lfd serve`` per colour and tell the
operator where it listens through a JSON file ``{"<namespace>/<deployment>": "http://127.0.0.1:PORT"}`` that is
re-read on every lookup (the test's "kubelet" rewrites it as colours change).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from fraud_operator.analysis import Unreachable


class Resolver(Protocol):
    def url(self, namespace: str, service: str, deployment: str, port: int) -> str: ...


@dataclass(frozen=True)
class ServiceDNS:
    """In-cluster: the Service's cluster DNS name (the operator runs in the same cluster)."""

    cluster_domain: str = "cluster.local"

    def url(self, namespace: str, service: str, deployment: str, port: int) -> str:
        return f"http://{service}.{namespace}.svc.{self.cluster_domain}:{port}"


class ClusterIPLookup(Protocol):
    def __call__(self, namespace: str, service: str) -> str | None: ...


@dataclass(frozen=True)
class ServiceClusterIP:
    """In-cluster without cluster DNS: the Service's ClusterIP, read from the API server on every lookup (a
    Service keeps its ClusterIP for life, but a deleted and recreated one gets a new one). Traffic still goes
    through the Service (kube-proxy), exactly as with its DNS name."""

    lookup: ClusterIPLookup

    def url(self, namespace: str, service: str, deployment: str, port: int) -> str:
        ip = self.lookup(namespace, service)
        if not ip or ip == "None":  # absent, or headless
            raise Unreachable(f"service {namespace}/{service} has no ClusterIP (yet)")
        return f"http://{ip}:{port}"


@dataclass(frozen=True)
class MappedResolver:
    """Tests: the Deployment behind the Service mapped to a real local scoring process."""

    path: Path

    def url(self, namespace: str, service: str, deployment: str, port: int) -> str:
        try:
            mapping: dict[str, str] = json.loads(self.path.read_text())
        except (OSError, ValueError) as e:
            raise Unreachable(f"service map {self.path} unreadable: {e}") from e
        key = f"{namespace}/{deployment}"
        if key not in mapping:
            raise Unreachable(f"no local process mapped for {key} (service {service}) in {self.path}")
        return mapping[key].rstrip("/")


ServiceAddress = Literal["dns", "cluster-ip"]
SERVICE_ADDRESSES: tuple[ServiceAddress, ...] = ("dns", "cluster-ip")


def make_resolver(
    service_map: str | None, service_address: str = "dns", lookup: ClusterIPLookup | None = None
) -> Resolver:
    if service_map:
        return MappedResolver(Path(service_map))
    if service_address == "cluster-ip":
        if lookup is None:
            raise ValueError("service address cluster-ip needs a ClusterIP lookup (the API client)")
        return ServiceClusterIP(lookup)
    if service_address != "dns":
        raise ValueError(f"service address must be one of {', '.join(SERVICE_ADDRESSES)}, got {service_address!r}")
    return ServiceDNS()
