"""Kubernetes control-plane smoke tests: Deployments become Available on kwok nodes, Services get
EndpointSlices, RBAC denies what no role grants, helm installs and upgrades a chart."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Cluster

pytestmark = pytest.mark.integration


def kubectl(
    cluster: Cluster, *args: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(cluster.kubectl), *args], input=stdin, capture_output=True, text=True, env=cluster.env, timeout=60
    )
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
    return result


def get_json(cluster: Cluster, *args: str) -> Any:
    return json.loads(kubectl(cluster, "get", *args, "-o", "json").stdout)


def wait_for(predicate: Any, what: str, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}; last observation: {last!r}")


@pytest.fixture
def namespace(kubernetes: Cluster) -> Iterator[str]:
    name = f"smoke-{uuid.uuid4().hex[:8]}"
    kubectl(kubernetes, "create", "namespace", name)
    yield name
    kubectl(kubernetes, "delete", "namespace", name, "--wait=false", check=False)


def test_deployment_becomes_available_and_service_has_endpoints(kubernetes: Cluster, namespace: str) -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": namespace},
                "spec": {
                    "replicas": 2,
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {
                        "metadata": {"labels": {"app": "web"}},
                        "spec": {
                            "containers": [
                                {"name": "web", "image": "example/web:1", "ports": [{"containerPort": 8080}]}
                            ]
                        },
                    },
                },
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web", "namespace": namespace},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
            },
        ],
    }
    kubectl(kubernetes, "apply", "-f", "-", stdin=json.dumps(manifest))

    def available() -> bool:
        status = get_json(kubernetes, "deployment", "web", "-n", namespace).get("status", {})
        conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
        return conditions.get("Available") == "True" and status.get("readyReplicas") == 2

    wait_for(available, "Deployment web Available with 2 ready replicas")
    pods = get_json(kubernetes, "pods", "-n", namespace, "-l", "app=web")["items"]
    assert len(pods) == 2
    assert all(p["spec"]["nodeName"].startswith("kwok-node-") for p in pods), "scheduled onto kwok nodes"
    assert all(p["status"]["phase"] == "Running" for p in pods)
    pod_ips = {p["status"]["podIP"] for p in pods}

    def endpoint_ips() -> set[str]:
        slices = get_json(kubernetes, "endpointslices", "-n", namespace, "-l", "kubernetes.io/service-name=web")
        return {
            addr
            for s in slices["items"]
            for ep in s.get("endpoints") or []
            if ep.get("conditions", {}).get("ready")
            for addr in ep["addresses"]
        }

    assert wait_for(lambda: endpoint_ips() == pod_ips and pod_ips, "EndpointSlice listing both pods")


def test_rbac_denies_a_service_account_without_a_role(kubernetes: Cluster, namespace: str) -> None:
    kubectl(kubernetes, "create", "serviceaccount", "nobody", "-n", namespace)
    token = kubectl(kubernetes, "create", "token", "nobody", "-n", namespace).stdout.strip()
    assert token.count(".") == 2, "a signed JWT"
    as_sa = [
        "--token",
        token,
        "--kubeconfig",
        "/dev/null",
        "--server",
        f"https://127.0.0.1:{kubernetes.settings.ports.apiserver}",
        f"--certificate-authority={kubernetes.settings.state / 'kubernetes' / 'pki' / 'ca.crt'}",
    ]

    denied = kubectl(kubernetes, *as_sa, "get", "pods", "-n", namespace, check=False)
    assert denied.returncode != 0
    assert "forbidden" in denied.stderr.lower()
    assert f"system:serviceaccount:{namespace}:nobody" in denied.stderr

    # The token itself is valid: grant a Role and the same call succeeds.
    kubectl(kubernetes, "create", "role", "pod-reader", "--verb=get,list", "--resource=pods", "-n", namespace)
    kubectl(
        kubernetes,
        "create",
        "rolebinding",
        "nobody-reads",
        "--role=pod-reader",
        f"--serviceaccount={namespace}:nobody",
        "-n",
        namespace,
    )
    wait_for(
        lambda: kubectl(kubernetes, *as_sa, "get", "pods", "-n", namespace, check=False).returncode == 0,
        "RBAC to allow after the RoleBinding",
        timeout=30,
    )


def test_helm_installs_and_upgrades_a_chart(helm: Cluster, namespace: str) -> None:
    chart = helm.settings.repo / "tests" / "fixtures" / "charts" / "tiny"

    def run_helm(*args: str) -> str:
        result = subprocess.run(
            [str(helm.helm), *args, "-n", namespace], capture_output=True, text=True, env=helm.env, timeout=120
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    run_helm("install", "demo", str(chart), "--wait")
    data = get_json(helm, "configmap", "demo-tiny", "-n", namespace)["data"]
    assert data["greeting"] == "hello"
    run_helm("upgrade", "demo", str(chart), "--set", "greeting=upgraded", "--wait")
    data = get_json(helm, "configmap", "demo-tiny", "-n", namespace)["data"]
    assert data["greeting"] == "upgraded"
    history = json.loads(run_helm("history", "demo", "-o", "json"))
    assert [h["revision"] for h in history] == [1, 2]
    assert history[-1]["status"] == "deployed"
