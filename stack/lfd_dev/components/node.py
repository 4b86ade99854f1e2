"""A real node: containerd + runc, kubelet and kube-proxy (iptables) on a host-only CNI bridge.

``lfd stack up node`` starts it beside the control plane (and kwok's simulated nodes, which stay for what
needs many nodes). Pods that tolerate the ``lfd.dev/real-node`` taint run here as real containers; images
come from ``lfd images`` (built with buildah, imported into containerd's ``k8s.io`` namespace), never from a
registry. ``lfd stack down`` stops the containers and removes the bridge, the pod network namespaces, the
``KUBE-*``/``CNI-*`` iptables chains and the pod cgroups, and restores the sysctls kubelet changed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from lfd_dev import images, process
from lfd_dev.components import node_cleanup as cleanup
from lfd_dev.components import node_config as cfg
from lfd_dev.components.base import ProcessComponent, require
from lfd_dev.components.http_check import http_ok
from lfd_dev.components.kubernetes import KWOK_POD_CIDR, SERVICE_CIDR, kubectl
from lfd_dev.settings import Settings

CNI_BIN_DIR = Path("/usr/lib/cni")  # Debian's containernetworking-plugins


def paths(settings: Settings) -> cfg.NodePaths:
    return cfg.NodePaths(settings.state / "node")


def _system(name: str) -> Path:
    found = subprocess.run(["sh", "-c", f"command -v {name}"], capture_output=True, text=True, check=False)
    if found.returncode != 0:
        raise process.StartError(f"{name} not found: run `make setup` (stack/install.sh node installs it)")
    return Path(found.stdout.strip())


def ctr(settings: Settings, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``ctr`` against this stack's containerd, in the CRI's ``k8s.io`` namespace."""
    argv = ["ctr", f"--address={paths(settings).containerd_socket}", "--namespace=k8s.io", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


# --- containerd ---------------------------------------------------------------------------------


def _containerd_prepare(settings: Settings) -> None:
    p = paths(settings)
    for directory in (p.containerd_config.parent, p.cni_conf_dir, p.cni_ipam_dir):
        directory.mkdir(parents=True, exist_ok=True)
    p.containerd_config.write_text(cfg.containerd_toml(p, images.PAUSE.ref, str(CNI_BIN_DIR)))
    (p.cni_conf_dir / "10-lfd-pods.conflist").write_text(cfg.cni_conflist(p, SERVICE_CIDR))


def _containerd_ready(settings: Settings) -> bool:
    return paths(settings).containerd_socket.exists() and ctr(settings, "version", timeout=10).returncode == 0


def _containerd_after_start(settings: Settings) -> None:
    """The pause image must be there before any sandbox: import it from the cache (built by make setup)."""
    images.import_image(settings, images.PAUSE, lambda *a: ctr(settings, *a))


def _containerd_stop(settings: Settings) -> bool:
    """Kill every container first (the shims outlive containerd otherwise), then containerd."""
    sandboxes: list[str] = []
    if _containerd_ready(settings):
        # Named before anything is killed: once containerd is gone nothing tells its namespaces from others.
        for container in ctr(settings, "containers", "ls", "-q").stdout.split():
            name = cleanup.sandbox_netns(ctr(settings, "containers", "info", container).stdout)
            if name is not None:
                sandboxes.append(name)
        tasks = ctr(settings, "tasks", "ls", "-q").stdout.split()
        for task in tasks:
            ctr(settings, "tasks", "kill", "--signal", "SIGKILL", task, timeout=30)
        deadline = time.monotonic() + 20
        while tasks and time.monotonic() < deadline:
            tasks = [t for t in tasks if ctr(settings, "tasks", "delete", "--force", t, timeout=30).returncode != 0]
            time.sleep(0.5 if tasks else 0)
        for container in ctr(settings, "containers", "ls", "-q").stdout.split():
            ctr(settings, "containers", "delete", container, timeout=30)
    stopped = process.stop(settings.pids / "containerd.pid")
    if paths(settings).root.exists():  # only a stack that ran the node cleans up (never another clone's node)
        remove_host_state(settings, sandboxes)  # containerd is the last node piece to stop (first to start)
    return stopped


class _Containerd(ProcessComponent):
    def stop(self, settings: Settings) -> bool:
        return _containerd_stop(settings)


CONTAINERD = _Containerd(
    name="containerd",
    prepare=_containerd_prepare,
    argv=lambda s: [_system("containerd"), f"--config={paths(s).containerd_config}", "--log-level=warn"],
    ready=_containerd_ready,
    describe=lambda s: f"unix://{paths(s).containerd_socket} (runc, CNI bridge {cfg.BRIDGE} {cfg.POD_CIDR})",
    after_start=_containerd_after_start,
    start_timeout=60,
)


# --- kubelet ------------------------------------------------------------------------------------


def _kubelet_prepare(settings: Settings) -> None:
    p = paths(settings)
    p.kubelet_dir.mkdir(parents=True, exist_ok=True)
    p.resolv_conf.write_text("# pods resolve nothing outside the machine\noptions ndots:5\n")
    ca = settings.state / "kubernetes" / "pki" / "ca.crt"
    p.kubelet_config.write_text(cfg.kubelet_yaml(p, ca, settings.ports.kubelet, settings.ports.kubelet_healthz))
    cleanup.save_sysctls(p.sysctl_backup)  # kubelet sets vm.overcommit_memory & co.; down puts them back
    cleanup.ensure_cgroups("/lfd")
    _ensure_bridge()


def _ensure_bridge() -> None:
    """Create the bridge with its gateway address before kubelet: the node's IP is on it (CNI reuses it)."""
    if cleanup.run(["ip", "link", "show", cfg.BRIDGE]).returncode != 0:
        cleanup.run(["ip", "link", "add", cfg.BRIDGE, "type", "bridge"])
    prefix = cfg.POD_CIDR.split("/")[1]
    cleanup.run(["ip", "addr", "replace", f"{cfg.GATEWAY}/{prefix}", "dev", cfg.BRIDGE])
    cleanup.run(["ip", "link", "set", cfg.BRIDGE, "up"])
    # With kube-proxy running, a Service backed by kwok's simulated pods DNATs to their invented addresses,
    # which would leave by the default route: make them unreachable instead (removed at down).
    cleanup.run(["ip", "route", "replace", "unreachable", KWOK_POD_CIDR])


def node_ready(settings: Settings) -> bool:
    result = kubectl(settings, "get", "node", cfg.NODE_NAME, "-o", "json")
    if result.returncode != 0:
        return False
    conditions = json.loads(result.stdout).get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _kubelet_stop(settings: Settings) -> bool:
    stopped = process.stop(settings.pids / "kubelet.pid")
    if stopped:
        kubectl(settings, "delete", "node", cfg.NODE_NAME, "--ignore-not-found", "--wait=false")
    return stopped


class _Kubelet(ProcessComponent):
    def stop(self, settings: Settings) -> bool:
        return _kubelet_stop(settings)


KUBELET = _Kubelet(
    name="kubelet",
    prepare=_kubelet_prepare,
    argv=lambda s: cfg.kubelet_argv(require(s.tool("kubelet"), "kubelet"), paths(s), s.kubeconfig),
    ready=node_ready,
    describe=lambda s: f"node {cfg.NODE_NAME} at {cfg.GATEWAY} (taint {cfg.TAINT_KEY}=true:NoSchedule)",
    start_timeout=120,
)


# --- kube-proxy ---------------------------------------------------------------------------------


def _kube_proxy_prepare(settings: Settings) -> None:
    p = paths(settings)
    p.root.mkdir(parents=True, exist_ok=True)
    ports = settings.ports
    p.kube_proxy_config.write_text(
        cfg.kube_proxy_yaml(settings.kubeconfig, ports.kube_proxy_healthz, ports.kube_proxy_metrics)
    )


def remove_host_state(settings: Settings, sandboxes: Iterable[str] = ()) -> list[str]:
    """Bridge, leftover pod network namespaces, KUBE-*/CNI-* chains, pod cgroups, kubelet's sysctls.
    Returns what could not be removed (empty when the machine is as it was)."""
    problems = cleanup.remove_iptables_rules()
    cleanup.remove_pod_netns(cfg.POD_CIDR, sandboxes)
    cleanup.remove_link(cfg.BRIDGE)
    cleanup.run(["ip", "route", "delete", "unreachable", KWOK_POD_CIDR])
    cleanup.remove_cgroups("/lfd")
    cleanup.remove_container_log_links(paths(settings).root / "pod-logs")
    shutil.rmtree(paths(settings).cni_ipam_dir, ignore_errors=True)  # leases of pods that no longer exist
    cleanup.restore_sysctls(paths(settings).sysctl_backup)
    return problems


KUBE_PROXY = ProcessComponent(
    name="kube-proxy",
    prepare=_kube_proxy_prepare,
    argv=lambda s: [require(s.tool("kube-proxy"), "kube-proxy"), f"--config={paths(s).kube_proxy_config}", "--v=1"],
    ready=lambda s: http_ok(f"http://127.0.0.1:{s.ports.kube_proxy_healthz}/healthz"),
    describe=lambda s: f"iptables mode, Services {SERVICE_CIDR} reachable from the host",
    start_timeout=60,
)
