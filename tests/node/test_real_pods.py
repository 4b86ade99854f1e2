"""The operator's scoring pod as a REAL container on the local node (containerd + runc, kubelet, kube-proxy).

Given the scoring image built from services/scoring/Dockerfile (buildah, local Debian base) and the Deployment
the operator renders for a FraudModel, when it is applied to the control plane, then kubelet runs it on the
real node: the image's ENTRYPOINT accepts the operator's args, the readiness probe passes for real, the pod
answers through its ClusterIP Service (kube-proxy's iptables rules) from the host, the FraudModel's threshold
changes its decisions, and from inside the container it is non-root, read-only and without capabilities.
The chart's `helm test` hook runs as a real pod of the same image and scores through that Service.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fraud_operator.builders import BuildContext, build_deployment, build_stable_service
from fraud_operator.spec import parse_spec
from lfd_dev import images
from lfd_dev.components import node, node_config
from lfd_dev.components.kubernetes import kubectl
from lfd_dev.settings import Settings
from scoring.service import EXAMPLE_INPUT

from .real_pods import BUNDLE_IN_POD, deployment_ready, helm, kubectl_ok, on_real_node

pytestmark = pytest.mark.e2e

#: Image already imported; the container loads the model and warms up before its readiness probe passes.
READY_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def scoring_pod(real_node: Settings, host_bundle: Path) -> Iterator[dict[str, str]]:
    settings = real_node
    namespace = f"real-pods-{uuid.uuid4().hex[:6]}"
    kubectl_ok(settings, "create", "namespace", namespace)
    spec = parse_spec({"model": {"uri": BUNDLE_IN_POD}, "image": images.scoring_image().ref, "threshold": 0.0})
    deployment = on_real_node(build_deployment("fd", "blue", spec, 1, 1, BuildContext()), host_bundle)
    service = build_stable_service("fd", "blue", spec)
    manifest = {"apiVersion": "v1", "kind": "List", "items": [deployment, service]}
    kubectl_ok(settings, "-n", namespace, "apply", "-f", "-", input_text=json.dumps(manifest))
    try:
        if not deployment_ready(settings, namespace, "fd-blue", timeout_s=READY_TIMEOUT_S):
            pods = kubectl(settings, "-n", namespace, "get", "pods", "-o", "yaml").stdout
            events = kubectl(settings, "-n", namespace, "get", "events").stdout
            pytest.fail(f"scoring pod not Ready within {READY_TIMEOUT_S}s:\n{events}\n{pods[-4000:]}")
        pod = json.loads(kubectl_ok(settings, "-n", namespace, "get", "pods", "-o", "json"))["items"][0]
        svc = json.loads(kubectl_ok(settings, "-n", namespace, "get", "service", "fd", "-o", "json"))
        container_id = pod["status"]["containerStatuses"][0]["containerID"].removeprefix("containerd://")
        yield {
            "namespace": namespace,
            "node": pod["spec"]["nodeName"],
            "pod_ip": pod["status"]["podIP"],
            "cluster_ip": svc["spec"]["clusterIP"],
            "container_id": container_id,
        }
    finally:
        kubectl(settings, "delete", "namespace", namespace, "--wait=false")


def _task_pid(settings: Settings, container_id: str) -> int:
    for line in node.ctr(settings, "tasks", "ls").stdout.splitlines()[1:]:
        task, pid, status = line.split()[:3]
        if task == container_id and status == "RUNNING":
            return int(pid)
    raise AssertionError(f"no running task {container_id} in containerd")


def test_the_pod_runs_on_the_real_node_as_a_process_of_the_operators_argv(
    real_node: Settings, scoring_pod: dict[str, str]
) -> None:
    assert scoring_pod["node"] == node_config.NODE_NAME
    pid = _task_pid(real_node, scoring_pod["container_id"])
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    environ = dict(e.split(b"=", 1) for e in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0") if b"=" in e)
    # The image's ENTRYPOINT (python -m scoring) parsed the operator's args and exec'd BentoML with them as
    # LFD_SCORING_* settings: a wrong argv would have exited before this process existed.
    assert argv[1:4] == [b"-m", b"bentoml", b"serve"] and b"scoring.service:FraudScoring" in argv
    assert environ[b"LFD_SCORING_MODEL_DIR"] == BUNDLE_IN_POD.encode()
    assert environ[b"LFD_SCORING_THRESHOLD"] == b"0.0"  # the FraudModel's spec.threshold
    assert environ[b"LFD_SCORING_COLOUR"] == b"blue"  # reported in OIP responses' parameters
    cgroup = Path(f"/proc/{pid}/cgroup").read_text()
    assert "/lfd/" in cgroup  # under the node's cgroupRoot: a pod of this kubelet, not a stray process


def test_the_container_is_non_root_read_only_and_without_capabilities_from_inside(
    real_node: Settings, scoring_pod: dict[str, str]
) -> None:
    probe = (
        "import os, json\n"
        "caps = {l.split(':')[0]: l.split()[1] for l in open('/proc/self/status') if l.startswith('Cap')}\n"
        "try:\n    open('/written-by-test', 'w'); ro = False\nexcept OSError as e:\n    ro = e.errno == 30\n"
        "open('/tmp/ok', 'w').write('x')\n"
        "print(json.dumps({'uid': os.getuid(), 'gid': os.getgid(), 'ro': ro, **caps,"
        " 'nnp': [l.split()[1] for l in open('/proc/self/status') if l.startswith('NoNewPrivs')][0]}))\n"
    )
    exec_id = f"probe-{uuid.uuid4().hex[:6]}"
    result = node.ctr(real_node, "tasks", "exec", "--exec-id", exec_id, scoring_pod["container_id"],
                      "python", "-c", probe)  # fmt: skip
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert (seen["uid"], seen["gid"]) == (10001, 10001)
    assert seen["ro"] is True, "the root filesystem accepted a write"
    assert seen["CapEff"] == seen["CapPrm"] == seen["CapBnd"] == "0000000000000000"
    assert seen["nnp"] == "1"  # allowPrivilegeEscalation: false


def test_the_pod_answers_through_its_cluster_ip_service_with_the_fraudmodels_threshold(
    scoring_pod: dict[str, str],
) -> None:
    """threshold 0.0 in the FraudModel: every transaction is flagged (the bundle's own threshold is 0.5)."""
    ip = scoring_pod["cluster_ip"]
    assert ip.startswith("10.96.")
    deadline = time.monotonic() + 30  # kube-proxy syncs its rules within seconds of the endpoint going Ready
    while True:
        try:
            response = httpx.post(f"http://{ip}:3000/score", json=EXAMPLE_INPUT, timeout=10)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert results and all(r["decision"] == "fraud" for r in results)
    ready = httpx.get(f"http://{scoring_pod['pod_ip']}:3000/v2/health/ready", timeout=10)
    assert ready.status_code == 200


def _test_pod_values(namespace: str, address: str) -> dict[str, object]:
    """The chart with only its `helm test` hook aimed at the fixture's stable Service "fd", on the real node.

    The pod's /etc/hosts maps the Service's DNS name (the URL the chart builds, unchanged) to ``address``, ahead
    of the node's cluster DNS: the ClusterIP (kube-proxy's rules) or, to prove the hook can fail, the pod's own
    loopback where nothing listens."""
    scoring = images.scoring_image()
    return {
        "operator": {"enabled": False},
        "tests": {
            "fraudModelName": "fd",
            "image": {"repository": f"localhost/{scoring.name}", "tag": scoring.tag},
            "nodeSelector": {node_config.NODE_LABEL: "real"},
            "tolerations": [{"key": node_config.TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}],
            "hostAliases": [{"ip": address, "hostnames": [f"fd.{namespace}.svc"]}],
        },
    }


def test_helm_test_scores_the_contract_example_through_the_stable_service_in_a_real_pod(
    real_node: Settings, scoring_pod: dict[str, str], tmp_path: Path
) -> None:
    """`helm test` of the chart, its hook pod a real container of the scoring image on the real node (on kwok's
    fake nodes no container runs, so a "passing" helm test there proves nothing)."""
    namespace = scoring_pod["namespace"]
    chart = Path(__file__).resolve().parents[2] / "charts" / "live-fraud-detector"
    values = tmp_path / "values.json"
    values.write_text(json.dumps(_test_pod_values(namespace, scoring_pod["cluster_ip"])))
    install = helm(real_node, "install", "t", str(chart), "-n", namespace, "-f", str(values))
    assert install.returncode == 0, install.stderr
    passed = helm(real_node, "test", "t", "-n", namespace, "--timeout", "5m")
    events = kubectl(real_node, "-n", namespace, "get", "events", "-o", "json").stdout
    assert passed.returncode == 0, f"{passed.stdout}{passed.stderr}\n{events[-3000:]}"
    assert "Phase:          Succeeded" in passed.stdout, passed.stdout
    # The hook pod ran as a container on the real node (kubelet's events outlive the deleted pod).
    started = [
        e
        for e in json.loads(events)["items"]
        if e["involvedObject"]["name"] == "t-live-fraud-detector-test-score" and e["reason"] in {"Scheduled", "Started"}
    ]
    assert {e["reason"] for e in started} == {"Scheduled", "Started"}, started
    assert any(node_config.NODE_NAME in (e.get("message") or "") for e in started), started

    # The same hook aimed at nothing fails: helm test reports the failed pod.
    values.write_text(json.dumps(_test_pod_values(namespace, "127.0.0.1")))
    upgrade = helm(real_node, "upgrade", "t", str(chart), "-n", namespace, "-f", str(values))
    assert upgrade.returncode == 0, upgrade.stderr
    failed = helm(real_node, "test", "t", "-n", namespace, "--timeout", "5m")
    assert failed.returncode != 0 and "Phase:          Failed" in failed.stdout, failed.stdout + failed.stderr
    # (`helm test --logs` cannot fetch them here: the API server cannot resolve the node's name.)
    pod = json.loads(
        kubectl_ok(real_node, "-n", namespace, "get", "pod", "t-live-fraud-detector-test-score", "-o", "json")
    )
    assert pod["spec"]["nodeName"] == node_config.NODE_NAME
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 1  # urlopen raised
    helm(real_node, "uninstall", "t", "-n", namespace)


def test_down_leaves_no_bridge_chain_or_namespace_behind(real_node: Settings) -> None:
    """Runs last in the package (this module sorts after test_operator_pod.py): the node goes down, the control
    plane stays for the rest of the suite, and the host is as it was found."""
    from lfd_dev import manager
    from lfd_dev.components.node_api import SLICE_NAME

    manager.down(real_node, ["node"])
    assert all(s.health.healthy for s in manager.status(real_node, ["kubernetes"])), "the node took the API server"
    slices = kubectl(real_node, "-n", "default", "get", "endpointslice", SLICE_NAME, "--ignore-not-found", "-o", "name")
    assert slices.returncode == 0 and not slices.stdout.strip(), slices.stdout
    assert subprocess.run(["ip", "link", "show", node_config.BRIDGE], capture_output=True).returncode != 0
    saved = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    assert not [line for line in saved.splitlines() if "KUBE-" in line or "CNI-" in line]
    netns = subprocess.run(["ip", "-json", "netns", "list"], capture_output=True, text=True).stdout
    assert not [n for n in json.loads(netns or "[]") if n["name"].startswith("cni-")]
    assert not any(Path("/sys/fs/cgroup").glob("*/lfd"))
    routes = subprocess.run(["ip", "route", "show", "10.244.0.0/16"], capture_output=True, text=True).stdout
    assert not routes.strip()
