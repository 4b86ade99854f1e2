"""Bring the local stack up in dependency order, report its health, and take it down in reverse."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lfd_dev import process
from lfd_dev.components.base import Component, Health
from lfd_dev.components.kafka import KAFKA
from lfd_dev.components.kubernetes import APISERVER, CONTROLLER_MANAGER, ETCD, KWOK, SCHEDULER
from lfd_dev.components.mlflow import MLFLOW
from lfd_dev.components.node import CONTAINERD, KUBE_PROXY, KUBELET
from lfd_dev.components.node_api import API_BRIDGE, HOST_BRIDGE
from lfd_dev.components.node_dns import CLUSTER_DNS
from lfd_dev.components.node_targets import POD_TARGETS
from lfd_dev.components.prometheus import PROMETHEUS
from lfd_dev.components.tools import FLINK, HELM, KUBECTL
from lfd_dev.settings import Settings

#: Start order; stop order is the reverse. Groups name what a test or command can ask for.
COMPONENTS: tuple[Component, ...] = (
    ETCD,
    APISERVER,
    CONTROLLER_MANAGER,
    SCHEDULER,
    KWOK,
    KUBECTL,
    CONTAINERD,
    KUBELET,
    KUBE_PROXY,  # after kubelet: its health check fails until the node exists
    API_BRIDGE,  # after kubelet: it listens on the bridge kubelet's prepare creates
    HOST_BRIDGE,  # likewise; forwards to MLflow and Prometheus whenever they run
    CLUSTER_DNS,  # likewise: the pods' nameserver (kubelet's clusterDNS) on the bridge's gateway
    POD_TARGETS,
    HELM,
    KAFKA,
    FLINK,
    MLFLOW,
    PROMETHEUS,
)
GROUPS: dict[str, tuple[str, ...]] = {
    "kubernetes": ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kubectl"),
    # The real node: not part of "kubernetes" (nor of a bare `lfd stack up`) until the journeys run on it.
    "node": ("containerd", "kubelet", "kube-proxy", "api-bridge", "host-bridge", "cluster-dns", "pod-targets"),
    "helm": ("helm",),
    "kafka": ("kafka",),
    "flink": ("kafka", "flink"),
    "mlflow": ("mlflow",),
    "prometheus": ("prometheus",),
}


@dataclass(frozen=True)
class Status:
    name: str
    health: Health


def select(names: Iterable[str] | None, for_stop: bool = False) -> list[Component]:
    """Components for the given names or group names, in start order; all when ``names`` is empty.

    Dependencies follow the direction: starting the node starts the control plane it registers with;
    stopping the node leaves the control plane running (the rest of the test suite uses it), and stopping the
    control plane stops the node too (a kubelet without its API server only retries)."""
    wanted: set[str] = set()
    for name in names or ():
        if name in GROUPS:
            wanted.update(GROUPS[name])
        elif any(c.name == name for c in COMPONENTS):
            wanted.add(name)
        else:
            known = sorted({*GROUPS, *(c.name for c in COMPONENTS)})
            raise ValueError(f"unknown component {name!r}; known: {', '.join(known)}")
    if names and "kube-apiserver" in wanted:
        wanted.update(GROUPS["kubernetes"])  # the control plane is only useful whole
    if names and for_stop and "kube-apiserver" in wanted:
        wanted.update(GROUPS["node"])
    elif names and not for_stop and wanted & set(GROUPS["node"]):
        wanted.update(GROUPS["kubernetes"])  # a node needs the control plane to register with
    everything = not wanted
    return [c for c in COMPONENTS if (everything and c.name not in GROUPS["node"]) or c.name in wanted]


def up(
    settings: Settings, names: Iterable[str] | None = None, on_started: Callable[[str, float], None] | None = None
) -> None:
    for component in select(names):
        began = time.monotonic()
        component.start(settings)
        if on_started:
            on_started(component.name, time.monotonic() - began)


def down(settings: Settings, names: Iterable[str] | None = None) -> list[str]:
    """Stop components (reverse order); return the names that were running.

    With no names, application processes the demo started beside the stack (scoring service, streaming
    job, operator: any other pid file under ``settings.pids``) are stopped first, so nothing is left."""
    stopped = []
    if not names:
        known = {c.name for c in COMPONENTS}
        for pid_file in sorted(settings.pids.glob("*.pid")):
            if pid_file.stem not in known and process.stop(pid_file):
                stopped.append(pid_file.stem)
    for component in reversed(select(names, for_stop=True) if names else COMPONENTS):  # a bare down stops the node too
        if component.stop(settings):
            stopped.append(component.name)
    return stopped


def status(settings: Settings, names: Iterable[str] | None = None) -> list[Status]:
    return [Status(c.name, c.health(settings)) for c in select(names)]
