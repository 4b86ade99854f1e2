"""A real Kubernetes control plane as local processes: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, and kwok simulating nodes and pod readiness (this machine runs no container runtime).

RBAC is the only authoriser, so every identity but the admin (system:masters) needs a Role; service
account tokens are signed by the API server and checked against its key.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import urllib.request
from pathlib import Path

from lfd_dev import process
from lfd_dev.components.base import ProcessComponent, require
from lfd_dev.components.certs import ensure_pki, kubeconfig
from lfd_dev.components.http_check import http_ok
from lfd_dev.settings import Settings

SERVICE_CIDR = "10.96.0.0/16"
#: Pod addresses kwok invents for simulated pods (nothing answers there; the real node routes them to "unreachable").
KWOK_POD_CIDR = "10.244.0.0/16"
KWOK_NODES = ("kwok-node-0", "kwok-node-1")


def _pki(settings: Settings) -> Path:
    return settings.state / "kubernetes" / "pki"


def _apiserver_url(settings: Settings) -> str:
    return f"https://127.0.0.1:{settings.ports.apiserver}"


def _bin(settings: Settings, name: str) -> Path:
    return require(settings.tool(name), name)


def apiserver_ready(settings: Settings) -> bool:
    """GET /readyz with the admin client certificate."""
    pki = _pki(settings)
    if not (pki / "admin.crt").exists():
        return False
    ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
    try:
        with urllib.request.urlopen(f"{_apiserver_url(settings)}/readyz", context=ctx, timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def kubectl(settings: Settings, *args: str, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(_bin(settings, "kubectl")), f"--kubeconfig={settings.kubeconfig}", *args],
        input=input_text,
        capture_output=True,
        text=True,
        timeout=60,
    )


# --- etcd -------------------------------------------------------------------------------------


def _etcd_argv(settings: Settings) -> list[str | Path]:
    p = settings.ports
    return [
        _bin(settings, "etcd"),
        "--name=lfd",
        f"--data-dir={settings.state / 'kubernetes' / 'etcd'}",
        f"--listen-client-urls=http://127.0.0.1:{p.etcd}",
        f"--advertise-client-urls=http://127.0.0.1:{p.etcd}",
        f"--listen-peer-urls=http://127.0.0.1:{p.etcd_peer}",
        f"--initial-advertise-peer-urls=http://127.0.0.1:{p.etcd_peer}",
        f"--initial-cluster=lfd=http://127.0.0.1:{p.etcd_peer}",
        "--quota-backend-bytes=2147483648",
        "--log-level=warn",
    ]


ETCD = ProcessComponent(
    name="etcd",
    argv=_etcd_argv,
    ready=lambda s: http_ok(f"http://127.0.0.1:{s.ports.etcd}/health"),
    describe=lambda s: f"http://127.0.0.1:{s.ports.etcd}",
)


# --- kube-apiserver ---------------------------------------------------------------------------


def _apiserver_prepare(settings: Settings) -> None:
    pki = _pki(settings)
    ensure_pki(pki)
    settings.kubeconfig.parent.mkdir(parents=True, exist_ok=True)
    settings.kubeconfig.write_text(kubeconfig(pki, _apiserver_url(settings)))


def _apiserver_argv(settings: Settings) -> list[str | Path]:
    pki = _pki(settings)
    return [
        _bin(settings, "kube-apiserver"),
        f"--etcd-servers=http://127.0.0.1:{settings.ports.etcd}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={settings.ports.apiserver}",
        f"--cert-dir={pki}",
        f"--tls-cert-file={pki / 'apiserver.crt'}",
        f"--tls-private-key-file={pki / 'apiserver.key'}",
        f"--client-ca-file={pki / 'ca.crt'}",
        f"--service-account-key-file={pki / 'sa.pub'}",
        f"--service-account-signing-key-file={pki / 'sa.key'}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--authorization-mode=RBAC",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--allow-privileged=true",
        "--profiling=false",
        "--endpoint-reconciler-type=none",  # no real kubernetes endpoint to advertise from here
        "--v=1",
    ]


APISERVER = ProcessComponent(
    name="kube-apiserver",
    prepare=_apiserver_prepare,
    argv=_apiserver_argv,
    ready=apiserver_ready,
    describe=lambda s: f"{_apiserver_url(s)} (RBAC), kubeconfig {s.kubeconfig}",
    start_timeout=120,
)


# --- kube-controller-manager and kube-scheduler -------------------------------------------------


def _controller_manager_argv(settings: Settings) -> list[str | Path]:
    pki = _pki(settings)
    return [
        _bin(settings, "kube-controller-manager"),
        f"--kubeconfig={settings.kubeconfig}",
        f"--authentication-kubeconfig={settings.kubeconfig}",
        f"--authorization-kubeconfig={settings.kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={settings.ports.controller_manager}",
        f"--service-account-private-key-file={pki / 'sa.key'}",
        f"--root-ca-file={pki / 'ca.crt'}",
        "--use-service-account-credentials=true",  # each controller acts under its own RBAC role
        "--leader-elect=false",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--horizontal-pod-autoscaler-sync-period=5s",
        "--v=1",
    ]


def _healthz(port: int) -> bool:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # self-signed serving cert of a loopback-only component
    try:
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", context=ctx, timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


CONTROLLER_MANAGER = ProcessComponent(
    name="kube-controller-manager",
    argv=_controller_manager_argv,
    ready=lambda s: _healthz(s.ports.controller_manager),
    describe=lambda s: "deployment, replicaset, endpointslice, HPA, serviceaccount, GC controllers",
    start_timeout=90,
)

SCHEDULER = ProcessComponent(
    name="kube-scheduler",
    argv=lambda s: [
        _bin(s, "kube-scheduler"),
        f"--kubeconfig={s.kubeconfig}",
        f"--authentication-kubeconfig={s.kubeconfig}",
        f"--authorization-kubeconfig={s.kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={s.ports.scheduler}",
        "--leader-elect=false",
        "--v=1",
    ],
    ready=lambda s: _healthz(s.ports.scheduler),
    describe=lambda s: "binding pods to kwok nodes",
    start_timeout=90,
)


# --- kwok ---------------------------------------------------------------------------------------


def node_manifest(name: str) -> dict[str, object]:
    """A fake node that kwok keeps Ready and whose pods it runs (in simulation)."""
    capacity = {"cpu": "32", "memory": "256Gi", "pods": "110"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {"type": "kwok", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux"},
        },
        "status": {"allocatable": capacity, "capacity": capacity},
    }


def _kwok_after_start(settings: Settings) -> None:
    manifest = {"apiVersion": "v1", "kind": "List", "items": [node_manifest(n) for n in KWOK_NODES]}
    result = kubectl(settings, "apply", "-f", "-", input_text=json.dumps(manifest))
    if result.returncode != 0:
        raise process.StartError(f"registering kwok nodes failed: {result.stderr}")
    process.wait_until(
        lambda: _nodes_ready(settings),
        what="kwok nodes Ready",
        timeout=60,
    )


def _nodes_ready(settings: Settings) -> bool:
    result = kubectl(settings, "get", "nodes", "-o", "json")
    if result.returncode != 0:
        return False
    items = json.loads(result.stdout)["items"]
    ready = [
        n
        for n in items
        if any(c["type"] == "Ready" and c["status"] == "True" for c in n.get("status", {}).get("conditions", []))
    ]
    return len(ready) >= len(KWOK_NODES)


KWOK = ProcessComponent(
    name="kwok",
    argv=lambda s: [
        _bin(s, "kwok"),
        f"--kubeconfig={s.kubeconfig}",
        f"--config={s.repo / 'stack' / 'kwok' / 'stages.yaml'}",
        "--node-lease-duration-seconds=40",
        "--manage-all-nodes=false",
        "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
        f"--cidr={KWOK_POD_CIDR}",
        "--node-ip=10.0.0.1",
        f"--server-address=127.0.0.1:{s.ports.kwok}",
    ],
    ready=lambda s: http_ok(f"http://127.0.0.1:{s.ports.kwok}/healthz"),
    describe=lambda s: f"simulating nodes {', '.join(KWOK_NODES)}",
    after_start=_kwok_after_start,
    start_timeout=60,
)
