"""Where an analysis sends its requests: a Service's DNS name in-cluster, or a mapped local process in tests.

This machine's control plane simulates pods (kwok), so tests run a real ``lfd serve`` per colour and tell the
operator where it listens through a JSON file ``{"<namespace>/<deployment>": "http://127.0.0.1:PORT"}`` that is
re-read on every lookup (the test's "kubelet" rewrites it as colours change).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from fraud_operator.analysis import Unreachable


class Resolver(Protocol):
    def url(self, namespace: str, service: str, deployment: str, port: int) -> str: ...


@dataclass(frozen=True)
class ServiceDNS:
    """In-cluster: the Service's cluster DNS name (the operator runs in the same cluster)."""

    cluster_domain: str = "cluster.local"

    def url(self, namespace: str, service: str, deployment: str, port: int) -> str:
        return f"http://{service}.{namespace}.svc.{self.cluster_domain}:{port}"


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


def make_resolver(service_map: str | None) -> Resolver:
    return MappedResolver(Path(service_map)) if service_map else ServiceDNS()
