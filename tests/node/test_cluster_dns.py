"""Cluster DNS on the real node: a pod resolves Services by name, and nothing outside the cluster.

Given the node group's ``cluster-dns`` component on the bridge's gateway and kubelet's ``clusterDNS`` pointing at
it, when a pod of the scoring image runs on the real node, then its resolv.conf is kubelet's (our nameserver, the
namespace's search list, ndots:5), its own resolver (glibc, in the container) turns a Service's full name and the
short forms into the Service's ClusterIP, and an outside name fails: the server refuses it and forwards nothing.
From the host, the server's table follows Services as they are created and deleted, over UDP and TCP.

This module sorts before test_real_pods.py, whose last test takes the node down.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lfd_dev import cluster_dns, images
from lfd_dev.components import node, node_config
from lfd_dev.components.kubernetes import kubectl
from lfd_dev.operator_journey import ON_NODE
from lfd_dev.settings import Settings

from .real_pods import kubectl_ok

pytestmark = pytest.mark.e2e

SERVER = (node_config.CLUSTER_DNS, node_config.DNS_PORT)
SERVICE = "ledger"
#: The table refreshes every 2 s; a Service created or deleted shows within a few refreshes.
REFRESH_TIMEOUT_S = 20
#: Run inside the pod: each name through the pod's resolver, printed as {name: address or the gaierror}.
RESOLVE = """\
import json, socket, sys
out = {}
for name in sys.argv[1:]:
    try:
        out[name] = sorted({a[4][0] for a in socket.getaddrinfo(name, 80, proto=socket.IPPROTO_TCP)})
    except socket.gaierror as error:
        out[name] = f"gaierror {error.errno}"
print(json.dumps(out))
"""


def _service(namespace: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 3000}]},
    }


def _cluster_ip(settings: Settings, namespace: str, name: str) -> str:
    service = json.loads(kubectl_ok(settings, "-n", namespace, "get", "service", name, "-o", "json"))
    ip: str = service["spec"]["clusterIP"]
    return ip


@pytest.fixture(scope="module")
def probe_pod(real_node: Settings) -> Iterator[dict[str, Any]]:
    """A pod of the scoring image that only sleeps (no model needed), and a Service in its namespace."""
    namespace = f"dns-{uuid.uuid4().hex[:6]}"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "probe", "namespace": namespace},
        "spec": {
            **ON_NODE,
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "probe",
                    "image": images.scoring_image().ref,
                    "imagePullPolicy": "Never",
                    "command": ["python", "-c", "import time; time.sleep(3600)"],
                }
            ],
        },
    }
    kubectl_ok(real_node, "create", "namespace", namespace)
    try:
        kubectl_ok(real_node, "apply", "-f", "-", input_text=json.dumps(_service(namespace, SERVICE)))
        kubectl_ok(real_node, "apply", "-f", "-", input_text=json.dumps(pod))
        waited = kubectl(real_node, "-n", namespace, "wait", "--for=condition=Ready", "pod/probe", "--timeout=180s")
        if waited.returncode != 0:
            described = kubectl(real_node, "-n", namespace, "describe", "pod", "probe").stdout
            pytest.fail(f"the probe pod was not Ready within 180 s: {waited.stderr}\n{described[-4000:]}")
        status = json.loads(kubectl_ok(real_node, "-n", namespace, "get", "pod", "probe", "-o", "json"))["status"]
        container = status["containerStatuses"][0]["containerID"].removeprefix("containerd://")
        ip, name = _cluster_ip(real_node, namespace, SERVICE), f"{SERVICE}.{namespace}.svc.cluster.local"
        if _wait_for(lambda: cluster_dns.ask(SERVER, name).addresses, [ip]) != [ip]:  # listed within a few refreshes
            log = (real_node.logs / "cluster-dns.log").read_text()[-3000:]
            pytest.fail(f"cluster-dns did not list {name} within {REFRESH_TIMEOUT_S} s:\n{log}")
        yield {"namespace": namespace, "container": container, "ip": ip}
    finally:
        kubectl(real_node, "delete", "namespace", namespace, "--wait=false")


def _in_pod(settings: Settings, container: str, *argv: str) -> str:
    result = node.ctr(settings, "tasks", "exec", "--exec-id", f"dns-{uuid.uuid4().hex[:6]}", container, *argv)
    assert result.returncode == 0, result
    return result.stdout


def _resolve_in_pod(settings: Settings, container: str, *names: str) -> dict[str, Any]:
    resolved: dict[str, Any] = json.loads(_in_pod(settings, container, "python", "-c", RESOLVE, *names))
    return resolved


def test_kubelet_gives_the_pod_our_nameserver_and_the_namespace_search_list(
    real_node: Settings, probe_pod: dict[str, Any]
) -> None:
    resolv = _in_pod(real_node, probe_pod["container"], "python", "-c", "print(open('/etc/resolv.conf').read())")
    lines = [line.split() for line in resolv.splitlines() if line.strip() and not line.startswith("#")]
    assert ["nameserver", node_config.CLUSTER_DNS] in lines and sum(w[0] == "nameserver" for w in lines) == 1
    ns = probe_pod["namespace"]
    assert ["search", f"{ns}.svc.cluster.local", "svc.cluster.local", "cluster.local"] in lines
    assert any(w[0] == "options" and "ndots:5" in w for w in lines), resolv


def test_a_pod_resolves_a_service_by_its_full_and_short_names(real_node: Settings, probe_pod: dict[str, Any]) -> None:
    ns, ip = probe_pod["namespace"], probe_pod["ip"]
    names = [f"{SERVICE}.{ns}.svc.cluster.local", SERVICE, f"{SERVICE}.{ns}", f"{SERVICE}.{ns}.svc"]
    resolved = _resolve_in_pod(real_node, probe_pod["container"], *names, "kubernetes.default")
    assert resolved == {**{name: [ip] for name in names}, "kubernetes.default": ["10.96.0.1"]}


def test_a_pod_resolves_nothing_outside_the_cluster(real_node: Settings, probe_pod: dict[str, Any]) -> None:
    outside, missing = "example.com", f"nosuch.{probe_pod['namespace']}.svc.cluster.local"
    resolved = _resolve_in_pod(real_node, probe_pod["container"], outside, missing)
    assert all(str(resolved[name]).startswith("gaierror") for name in (outside, missing)), resolved
    # Asked directly, the server refuses the outside name (no answer, not authoritative): it has no upstream.
    refused = cluster_dns.ask(SERVER, outside)
    assert (refused.rcode, refused.authoritative, refused.addresses) == (cluster_dns.REFUSED, False, [])
    assert cluster_dns.ask(SERVER, missing).rcode == cluster_dns.NXDOMAIN


def _wait_for(answer: Callable[[], object], expected: object) -> object:
    """What ``answer`` returns once it is ``expected``, or its last value after REFRESH_TIMEOUT_S."""
    deadline = time.monotonic() + REFRESH_TIMEOUT_S
    while (got := answer()) != expected and time.monotonic() < deadline:
        time.sleep(0.5)
    return got


def test_the_names_follow_services_as_they_come_and_go(real_node: Settings, probe_pod: dict[str, Any]) -> None:
    ns = probe_pod["namespace"]
    name = f"late.{ns}.svc.cluster.local"
    assert cluster_dns.ask(SERVER, name).rcode == cluster_dns.NXDOMAIN
    kubectl_ok(real_node, "apply", "-f", "-", input_text=json.dumps(_service(ns, "late")))
    ip = _cluster_ip(real_node, ns, "late")
    assert _wait_for(lambda: cluster_dns.ask(SERVER, name).addresses, [ip]) == [ip]
    assert cluster_dns.ask(SERVER, name, tcp=True).addresses == [ip]
    no_ipv6 = cluster_dns.ask(SERVER, name, qtype=cluster_dns.TYPE_AAAA, tcp=True)
    assert (no_ipv6.rcode, no_ipv6.addresses) == (cluster_dns.NOERROR, [])
    kubectl_ok(real_node, "-n", ns, "delete", "service", "late")
    gone = _wait_for(lambda: cluster_dns.ask(SERVER, name).rcode, cluster_dns.NXDOMAIN)
    assert gone == cluster_dns.NXDOMAIN
