"""The operator as a REAL pod: our chart installed with its operator Deployment on the real node.

Given the operator image built from operator/Dockerfile (buildah, local Debian base), when `helm install` puts
the chart's fraud-operator Deployment on the real node, then kubelet runs it as uid 10001 with a read-only root
and no capabilities, kopf's liveness endpoint makes it Ready, and - reaching the API server the in-cluster way
(the ``kubernetes`` Service's ClusterIP via kube-proxy, with its own ServiceAccount token and the chart's
namespaced Role) - it reconciles a FraudModel: the blue Deployment and the Services appear, the scoring pods
carry their colour and the chart's scoring ServiceAccount.

This module sorts before test_real_pods.py, whose last test takes the node down.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lfd_dev import images
from lfd_dev.components import node, node_config
from lfd_dev.components.kubernetes import kubectl
from lfd_dev.settings import Settings

from .real_pods import deployment_ready, helm, kubectl_ok

pytestmark = pytest.mark.e2e

CHART = Path(__file__).resolve().parents[2] / "charts" / "live-fraud-detector"
#: The operator image is imported already; Python starts kopf, which connects before /healthz answers.
READY_TIMEOUT_S = 240


def _values() -> dict[str, Any]:
    operator = images.operator_image()
    on_node = {
        "nodeSelector": {node_config.NODE_LABEL: "real"},
        "tolerations": [{"key": node_config.TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}],
    }
    return {
        "operator": {"image": {"repository": f"localhost/{operator.name}", "tag": operator.tag}, **on_node},
        "networkPolicy": {"enabled": False},  # the bridge CNI enforces none; say so rather than pretend
    }


@pytest.fixture(scope="module")
def operator_pod(real_node: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    namespace = f"op-pod-{uuid.uuid4().hex[:6]}"
    values = tmp_path_factory.mktemp("operator-pod") / "values.json"
    values.write_text(json.dumps(_values()))
    kubectl_ok(real_node, "create", "namespace", namespace)
    try:
        installed = helm(real_node, "install", "lfd", str(CHART), "-n", namespace, "-f", str(values))
        assert installed.returncode == 0, installed.stderr
        if not deployment_ready(real_node, namespace, "fraud-operator", timeout_s=READY_TIMEOUT_S):
            pods = kubectl(real_node, "-n", namespace, "get", "pods", "-o", "yaml").stdout
            events = kubectl(real_node, "-n", namespace, "get", "events").stdout
            pytest.fail(f"operator pod not Ready within {READY_TIMEOUT_S}s:\n{events}\n{pods[-4000:]}")
        pods = json.loads(kubectl_ok(real_node, "-n", namespace, "get", "pods", "-o", "json"))["items"]
        pod = next(p for p in pods if p["metadata"]["name"].startswith("fraud-operator-"))
        yield {"namespace": namespace, "pod": pod}
    finally:
        helm(real_node, "uninstall", "lfd", "-n", namespace, "--wait", "--timeout", "60s")
        kubectl(real_node, "delete", "namespace", namespace, "--wait=false")


def test_the_operator_runs_as_a_hardened_process_on_the_real_node(
    real_node: Settings, operator_pod: dict[str, Any]
) -> None:
    pod = operator_pod["pod"]
    assert pod["spec"]["nodeName"] == node_config.NODE_NAME
    assert pod["spec"]["serviceAccountName"] == "fraud-operator"
    container_id = pod["status"]["containerStatuses"][0]["containerID"].removeprefix("containerd://")
    tasks = [line.split() for line in node.ctr(real_node, "tasks", "ls").stdout.splitlines()[1:]]
    pid = next(int(t[1]) for t in tasks if t[0] == container_id and t[2] == "RUNNING")
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert argv[1:4] == [b"-m", b"fraud_operator", b"run"], argv
    assert f"--namespace={operator_pod['namespace']}".encode() in argv
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    assert status["Uid"].split()[0] == "10001" and status["CapEff"].strip() == "0000000000000000"
    assert status["NoNewPrivs"].strip() == "1"
    probe = "import os\ntry:\n    open('/x', 'w')\nexcept OSError as e:\n    print(e.errno)\n"
    written = node.ctr(real_node, "tasks", "exec", "--exec-id", f"ro-{uuid.uuid4().hex[:6]}", container_id,
                       "python", "-c", probe)  # fmt: skip
    assert written.returncode == 0 and written.stdout.strip() == "30", written  # EROFS: the root is read-only


def test_the_operator_pod_reconciles_a_fraudmodel_through_the_in_cluster_api(
    real_node: Settings, operator_pod: dict[str, Any]
) -> None:
    namespace = operator_pod["namespace"]
    fraud_model = {
        "apiVersion": "ml.livefraud.io/v1alpha1",
        "kind": "FraudModel",
        "metadata": {"name": "fd"},
        "spec": {"model": {"name": "fraud-detector", "version": "1"}, "image": images.scoring_image().ref},
    }
    kubectl_ok(real_node, "-n", namespace, "apply", "-f", "-", input_text=json.dumps(fraud_model))
    deadline = time.monotonic() + 120
    while True:
        got = kubectl(real_node, "-n", namespace, "get", "deployment", "fd-blue", "-o", "json")
        if got.returncode == 0:
            break
        if time.monotonic() > deadline:
            logs = node.ctr(real_node, "tasks", "ls").stdout
            pytest.fail(f"the operator pod created no fd-blue within 120 s; tasks:\n{logs}")
        time.sleep(2)
    deployment = json.loads(got.stdout)
    pod_spec = deployment["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in pod_spec["containers"][0]["env"]}
    assert env["LFD_SCORING_COLOUR"] == "blue"
    assert pod_spec["serviceAccountName"] == "fraud-scoring"  # the chart's scoring ServiceAccount
    owner = deployment["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"]) == ("FraudModel", "fd")
    services = json.loads(kubectl_ok(real_node, "-n", namespace, "get", "services", "-o", "json"))["items"]
    assert "fd-preview" in {s["metadata"]["name"] for s in services}  # the stable one follows the first promotion
    # ... and it reports on the FraudModel's status subresource (the Role's fraudmodels/status).
    model = json.loads(kubectl_ok(real_node, "-n", namespace, "get", "fraudmodel", "fd", "-o", "json"))
    assert model.get("status", {}).get("phase"), model.get("status")
