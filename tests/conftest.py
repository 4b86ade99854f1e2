"""Session-scoped fixtures that hand tests *real* components of the local stack.

A test asks for ``kafka``, ``kubernetes``, ``mlflow_server``, ``prometheus``, ``helm`` or ``flink`` and
gets a running, healthy component (started if needed, reused if ``make up`` already started it).
If a component cannot start, the fixture raises: the test errors loudly, it is never skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lfd_dev import manager
from lfd_dev.settings import Settings, load_settings


@pytest.fixture(scope="session")
def stack_settings() -> Settings:
    return load_settings()


def _up(settings: Settings, group: str) -> Settings:
    manager.up(settings, [group])  # raises StartError with the component's log tail
    return settings


@dataclass(frozen=True)
class Cluster:
    """A real control plane: a kubeconfig and the kubectl/helm binaries built for it."""

    settings: Settings

    @property
    def kubeconfig(self) -> Path:
        return self.settings.kubeconfig

    @property
    def kubectl(self) -> Path:
        return self.settings.tool("kubectl")

    @property
    def helm(self) -> Path:
        return self.settings.tool("helm")

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig), "PATH": f"{self.settings.bin}:{os.environ['PATH']}"}


@pytest.fixture(scope="session")
def kafka(stack_settings: Settings) -> str:
    """Bootstrap servers of a running KRaft broker with the project's topics created."""
    return _up(stack_settings, "kafka").kafka_bootstrap


@pytest.fixture(scope="session")
def kubernetes(stack_settings: Settings) -> Cluster:
    return Cluster(_up(stack_settings, "kubernetes"))


@pytest.fixture(scope="session")
def helm(kubernetes: Cluster, stack_settings: Settings) -> Cluster:
    _up(stack_settings, "helm")
    return kubernetes


@pytest.fixture(scope="session")
def mlflow_server(stack_settings: Settings) -> Iterator[str]:
    """Tracking URI of a running MLflow server (sqlite backend, proxied artifacts)."""
    uri = _up(stack_settings, "mlflow").mlflow_uri
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = uri
    yield uri
    if previous is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = previous


@pytest.fixture(scope="session")
def prometheus(stack_settings: Settings) -> str:
    return _up(stack_settings, "prometheus").prometheus_url


@pytest.fixture(scope="session")
def flink(kafka: str, stack_settings: Settings) -> Settings:
    """PyFlink (streaming environment) plus the Kafka connector jar, next to a running broker."""
    return _up(stack_settings, "flink")
