"""The operator's blue-green journey on REAL scoring pods: no simulator, no service map, nothing outside Kubernetes.

Given three versions of a model in the stack's MLflow (two good, one trained on shuffled labels) and our chart
installed with the operator running as a pod on the real node (its gates address Services by DNS name, as in any
cluster: the node's cluster DNS answers), when a FraudModel is applied and then changed, then:

- kubelet runs the scoring pods on the real node (containerd tasks), which download their model from MLflow
  through the host bridge and become Ready by their readiness probe;
- a new version starts the other colour; smoke and quality gates reach both colours through their Services
  (ClusterIP via kube-proxy); the stable Service switches; the SLO gate reads the new colour's request metrics,
  scraped by the stack's Prometheus from the pod itself;
- ``kubectl fraudmodel rollback`` moves traffic back to the warm old colour; the bad model never gets traffic;
- an open-loop client sending to the stable Service's ClusterIP from the host throughout sees no failed request;
- the PyFlink job, scoring a Kafka stream through the same stable Service throughout, follows each switch within its
  connection age (its scores come from the new colour, none from the old one after the bound), with every record
  scored or dead-lettered exactly once.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lfd_dev import operator_journey as j
from lfd_dev import stream_follow as sf
from lfd_dev.components import node, node_config
from lfd_dev.components.kubernetes import kubectl
from lfd_dev.settings import Settings

from .real_pods import kubectl_ok

pytestmark = pytest.mark.e2e

TRAFFIC_RATE = 20.0  # requests/s to the stable Service, from the host
STREAM_RATE = 50.0  # transactions/s through the job
#: After a switch, the old colour may still score for: the job's connection age, + 1 s (``switchedAt`` is in whole
#: seconds), + one request timeout (2 s), + one bundle/batch of slack on a shared 2-core machine (3 s).
FOLLOW_BOUND_MS = (sf.MAX_AGE_S + 1 + 2 + 3) * 1000


@pytest.fixture(scope="module")
def journey(
    real_node: Settings, mlflow_server: str, prometheus: str, flink: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, str, j.Registered]]:
    settings = real_node
    workdir = tmp_path_factory.mktemp("journey")
    registered = j.register_versions(mlflow_server, workdir)
    namespace = f"journey-{uuid.uuid4().hex[:6]}"
    kubectl_ok(settings, "create", "namespace", namespace)
    try:
        j.install_chart(settings, namespace, j.chart_values(settings, registered), workdir)
        yield settings, namespace, registered
    finally:
        j.helm(settings, "uninstall", "lfd", "-n", namespace, "--wait", "--timeout", "60s")
        kubectl(settings, "delete", "namespace", namespace, "--wait=false")


def _running_tasks(settings: Settings) -> set[str]:
    return {line.split()[0] for line in node.ctr(settings, "tasks", "ls").stdout.splitlines()[1:] if "RUNNING" in line}


def _set_version(settings: Settings, namespace: str, registered: j.Registered, version: str) -> None:
    patch = json.dumps({"spec": {"model": {"name": registered.name, "version": version}}})
    kubectl_ok(settings, "-n", namespace, "patch", "fraudmodel", "fd", "--type=merge", "-p", patch)


def test_blue_green_on_real_pods_gated_through_services_with_rollback_under_load(
    journey: tuple[Settings, str, j.Registered], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    settings, namespace, registered = journey
    switches: list[sf.Switch] = []
    note = functools.partial(sf.note_switch, switches)
    good_v1, good_v2, bad = registered.versions

    # Given version 1 applied: the operator (a pod) creates blue, kubelet runs it, it becomes the stable colour
    manifest = json.dumps(j.fraud_model(registered.name, good_v1))
    kubectl_ok(settings, "-n", namespace, "apply", "-f", "-", input_text=manifest)
    j.wait(settings, namespace, "Healthy on blue", j.active("blue", 1))
    [blue] = j.scoring_pods(settings, namespace, "blue")
    assert blue["spec"]["nodeName"] == node_config.NODE_NAME
    container = blue["status"]["containerStatuses"][0]["containerID"].removeprefix("containerd://")
    assert container in _running_tasks(settings), "the scoring pod's process is not a running task on the node"
    url = f"http://{j.cluster_ip(settings, namespace, 'fd')}:3000/score"
    assert httpx.post(url, json=j.EXAMPLE, timeout=30).status_code == 200
    stable = url.removesuffix("/score")
    stream = sf.StreamThroughService(settings, stable, registered.name, tmp_path / "stream", STREAM_RATE)
    request.addfinalizer(stream.abandon)  # the job stops even when an assertion below fails
    stream.start()

    with j.Traffic(url, TRAFFIC_RATE) as traffic:
        # When version 2 is applied, then green is previewed, gated through its Services, and promoted
        _set_version(settings, namespace, registered, good_v2)
        status = j.wait(settings, namespace, "Healthy on green", j.active("green", 2), note)
        [green] = j.scoring_pods(settings, namespace, "green")
        assert green["spec"]["nodeName"] == node_config.NODE_NAME
        runs = [r for r in status["analysis"] if r["templateHash"] == status["activeHash"]]
        pre = next(r for r in runs if r["kind"] == "pre")
        post = next(r for r in runs if r["kind"] == "post")
        assert pre["result"] == "Passed" and "quality" in pre["message"], pre
        # The SLO gate judged real samples: Prometheus scraped the green pod on the bridge (not Inconclusive).
        assert post["result"] == "Passed" and "slo" in post["message"], post

        # When `kubectl fraudmodel rollback` while blue is still warm, then traffic is back on blue, no new gates
        rolled = j.plugin(settings, namespace, "rollback", "fd", "--wait", "--timeout", "120")
        assert rolled.returncode == 0, rolled.stdout + rolled.stderr
        j.wait(settings, namespace, "back on blue", j.active("blue", 1), note)

        # When the bad model is applied, then its preview fails the quality gate and never takes traffic
        _set_version(settings, namespace, registered, bad)
        status = j.wait(settings, namespace, "Degraded by the bad model", lambda s: s.get("phase") == "Degraded")
        assert status.get("haltedReason") == "AnalysisFailed", status
        assert status["activeColour"] == "blue" and status["activeRevision"] == 1, status
        verdict = [r for r in status["analysis"] if r["kind"] == "pre"][-1]
        assert verdict["result"] == "Failed" and "PR-AUC below the champion's" in verdict["message"], verdict
        time.sleep(5)  # a few more seconds of traffic on blue after the failed preview

    # Then the client saw every request answered, through a promotion, a rollback and a refused model
    print(f"traffic: {traffic.summary()}")
    assert traffic.sent > 200, traffic.summary()
    assert traffic.failed == 0, traffic.summary()

    # Then the job's scores followed both switches, and every record came out exactly once
    outcome = stream.finish()
    r = outcome.reconciliation
    detail = f"{r}\nswitches {switches}\njob log:\n{stream.job.log_tail() if stream.job else ''}"
    assert r.exact and r.scored + r.dead_lettered == r.produced > 500, detail
    assert {(s["model"]["colour"], s["model"]["version"]) for s in outcome.scores} == {
        ("blue", good_v1),
        ("green", good_v2),
    }, detail
    judged, text = sf.report(outcome.scores, switches, stream.started_ms)
    print(text)
    detail += f"\n{text}"
    assert [f.switch.to for f in judged] == ["green", "blue"], detail
    for f in judged:
        assert f.first_new_ms is not None, detail
        assert f.last_old_ms is None or f.last_old_ms <= FOLLOW_BOUND_MS, detail
