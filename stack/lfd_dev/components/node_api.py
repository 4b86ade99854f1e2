"""The API server for the real node's pods (the operator's pod, any in-cluster client).

A pod finds the API server as a real cluster's pods do: ``KUBERNETES_SERVICE_HOST`` is the ``kubernetes``
Service's ClusterIP (10.96.0.1, in the serving certificate's SANs), kube-proxy DNATs it to the Service's
endpoints. Our API server listens on loopback only and runs ``--endpoint-reconciler-type=none``, so this
component (1) forwards the bridge's gateway address to it (``lfd_dev.tcp_forward``) and (2) publishes that
address as the ``kubernetes`` Service's EndpointSlice; ``lfd stack down`` deletes the slice again.
``HOST_BRIDGE`` forwards the gateway to MLflow and Prometheus the same way.
"""

from __future__ import annotations

import json
import socket
import sys

from lfd_dev.components import node_config as cfg
from lfd_dev.components.base import ProcessComponent
from lfd_dev.components.kubernetes import apiserver_ready, kubectl
from lfd_dev.process import StartError, stop
from lfd_dev.settings import Settings

SLICE_NAME = "kubernetes-lfd-node"


def endpoint_slice(port: int) -> dict[str, object]:
    """Pure: the ``kubernetes`` Service's endpoints at the bridge's gateway (port name as the Service's)."""
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": SLICE_NAME,
            "namespace": "default",
            "labels": {
                "kubernetes.io/service-name": "kubernetes",
                "endpointslice.kubernetes.io/managed-by": "lfd.dev-node",
            },
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": [cfg.GATEWAY], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
    }


def _listening(settings: Settings) -> bool:
    try:
        with socket.create_connection((cfg.GATEWAY, settings.ports.apiserver), timeout=1):
            return True
    except OSError:
        return False


def _publish(settings: Settings) -> None:
    result = kubectl(settings, "apply", "-f", "-", input_text=json.dumps(endpoint_slice(settings.ports.apiserver)))
    if result.returncode != 0:
        raise StartError(f"EndpointSlice default/{SLICE_NAME}: {result.stderr}")


class _ApiBridge(ProcessComponent):
    def stop(self, settings: Settings) -> bool:
        if apiserver_ready(settings):
            kubectl(settings, "-n", "default", "delete", "endpointslice", SLICE_NAME, "--ignore-not-found")
        return stop(self.pid_file(settings))


API_BRIDGE = _ApiBridge(
    name="api-bridge",
    argv=lambda s: [
        sys.executable,
        "-m",
        "lfd_dev.tcp_forward",
        f"{cfg.GATEWAY}:{s.ports.apiserver}",
        f"127.0.0.1:{s.ports.apiserver}",
    ],
    ready=_listening,
    after_start=_publish,
    describe=lambda s: f"pods reach the API server at 10.96.0.1:443 → {cfg.GATEWAY}:{s.ports.apiserver} → loopback",
    start_timeout=30,
)


def _host_ports(settings: Settings) -> tuple[int, ...]:
    return (settings.ports.mlflow, settings.ports.prometheus)


def _host_listening(settings: Settings) -> bool:
    for port in _host_ports(settings):
        try:
            with socket.create_connection((cfg.GATEWAY, port), timeout=1):
                pass
        except OSError:
            return False
    return True


#: MLflow (scoring pods download their model through it) and Prometheus (the operator pod's SLO gate) listen on
#: loopback; kubelet's KUBE-FIREWALL drops pod packets to 127.0.0.0/8, so pods reach them at the gateway.
HOST_BRIDGE = ProcessComponent(
    name="host-bridge",
    argv=lambda s: [
        sys.executable,
        "-m",
        "lfd_dev.tcp_forward",
        *(arg for port in _host_ports(s) for arg in (f"{cfg.GATEWAY}:{port}", f"127.0.0.1:{port}")),
    ],
    ready=_host_listening,
    describe=lambda s: (
        f"pods reach MLflow at {cfg.GATEWAY}:{s.ports.mlflow} and Prometheus at "
        f"{cfg.GATEWAY}:{s.ports.prometheus} → loopback"
    ),
    start_timeout=30,
)
