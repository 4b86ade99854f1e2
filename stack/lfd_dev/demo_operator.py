"""`make demo-operator` (also the last part of `make demo`): a blue-green model rollout on REAL pods.

The real node joins the local control plane (containerd + runc, kubelet, kube-proxy); our chart installs the
operator as a pod; a FraudModel puts scoring pods on the node. The rollout is shown as it progresses
(`kubectl get fraudmodels -w` style): version 1 on blue; one transaction scored through the stable Service;
version 2 previewed on green, gated (smoke, quality on a labelled replay set, SLO from Prometheus) and promoted
while a client sends 20 requests/s to the stable Service; `kubectl fraudmodel rollback` to blue; a model trained
on shuffled labels refused by the quality gate. Throughout, the PyFlink job scores a stream of transactions through
the same stable Service (exactly-once Kafka sinks): its scores follow each switch within its connection age, shown
as a timeline of which colour scored what. Everything else keeps running afterwards; `make down` stops it.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from lfd_dev import images, manager
from lfd_dev import operator_journey as j
from lfd_dev import stream_follow as sf
from lfd_dev.components import node
from lfd_dev.settings import Settings, load_settings
from lfd_dev.steps import run_steps

DEMO_LABEL = "lfd.dev/demo=rollout"
MODEL = "fraud-detector-rollout-demo"
RATE = 20.0
STREAM_RATE = 50.0


@dataclass
class OperatorDemo:
    settings: Settings
    namespace: str = field(default_factory=lambda: time.strftime("rollout-demo-%H%M%S"))
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="lfd-rollout-demo-")))
    registered: j.Registered | None = None
    traffic: j.Traffic | None = None
    stream: sf.StreamThroughService | None = None
    switches: list[sf.Switch] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    @property
    def models(self) -> j.Registered:
        assert self.registered is not None, "the models step runs first"
        return self.registered

    def kubectl(self, *args: str) -> str:
        s = self.settings
        return f"KUBECONFIG={s.kubeconfig} {s.tool('kubectl')} {' '.join(args)} -n {self.namespace}"

    def line(self, status: dict[str, Any]) -> None:
        """One `kubectl get fraudmodels -w` style line per change of phase, step or colour (switches noted)."""
        sf.note_switch(self.switches, status)
        print(
            f"    {time.monotonic() - self.started:6.0f}s  fd  version={status.get('activeVersion', '-'):<3} "
            f"colour={status.get('activeColour', '-'):<5} revision={status.get('activeRevision', '-')}  "
            f"{status.get('phase', '-'):<11} {status.get('currentStep', '')}",
            flush=True,
        )


def node_up(demo: OperatorDemo) -> str:
    s = demo.settings
    manager.up(s, ["node", "mlflow", "prometheus", "helm", "kafka", "flink"])
    for image in (images.scoring_image(), images.operator_image()):
        images.import_image(s, image, lambda *a: node.ctr(s, *a))
    return "    node lfd-node: containerd + runc, kubelet, kube-proxy; scoring and operator images imported"


def models(demo: OperatorDemo) -> str:
    demo.registered = j.register_versions(demo.settings.mlflow_uri, demo.workdir, MODEL)
    v1, v2, bad = demo.models.versions
    return f"    {MODEL}: v{v1}, v{v2} (good), v{bad} (trained on shuffled labels: must never get traffic)"


def operator_pod(demo: OperatorDemo) -> str:
    s = demo.settings
    j.k(s, "delete", "namespace", "-l", DEMO_LABEL, "--wait=false")  # an earlier demo's pods stop meanwhile
    j.k(s, "create", "namespace", demo.namespace)
    j.k(s, "label", "namespace", demo.namespace, DEMO_LABEL)
    j.install_chart(s, demo.namespace, j.chart_values(s, demo.models), demo.workdir)
    j.k(s, "-n", demo.namespace, "rollout", "status", "deployment/fraud-operator", "--timeout=300s")
    return f"    helm install lfd charts/live-fraud-detector -n {demo.namespace}: the operator runs as a pod"


def first_version(demo: OperatorDemo) -> str:
    s = demo.settings
    manifest = j.fraud_model(demo.models.name, demo.models.versions[0])
    j.k(s, "-n", demo.namespace, "apply", "-f", "-", input_text=json.dumps(manifest))
    print(f"    kubectl apply -f fraudmodel.yaml   (model v{demo.models.versions[0]}, pods on the real node)")
    j.wait(s, demo.namespace, "Healthy on blue", j.active("blue", 1), demo.line)
    [pod] = j.scoring_pods(s, demo.namespace, "blue")
    return f"    pod {pod['metadata']['name']} on {pod['spec']['nodeName']} at {pod['status']['podIP']}"


def score(demo: OperatorDemo) -> str:
    url = f"http://{j.cluster_ip(demo.settings, demo.namespace, 'fd')}:3000/score"
    answer = httpx.post(url, json=j.EXAMPLE, timeout=30)
    answer.raise_for_status()
    demo.traffic = j.Traffic(url, RATE).__enter__()
    return f"    POST {url} → {answer.json()['results'][0]}\n    (a client now sends {RATE:.0f} requests/s there)"


def stream_start(demo: OperatorDemo) -> str:
    url = f"http://{j.cluster_ip(demo.settings, demo.namespace, 'fd')}:3000"
    demo.stream = sf.StreamThroughService(demo.settings, url, demo.models.name, demo.workdir / "stream", STREAM_RATE)
    demo.stream.start()
    return (
        f"    PyFlink job → {url} (the stable Service), connections re-opened every {demo.stream.max_age_s:.0f}s;\n"
        f"    {STREAM_RATE:.0f} transactions/s into {demo.stream.topic('transactions')}, "
        f"scores in {demo.stream.topic('scores')} (log: {demo.workdir / 'stream' / 'job.log'})"
    )


def new_version(demo: OperatorDemo) -> str:
    s = demo.settings
    patch = json.dumps({"spec": {"model": {"name": demo.models.name, "version": demo.models.versions[1]}}})
    j.k(s, "-n", demo.namespace, "patch", "fraudmodel", "fd", "--type=merge", "-p", patch)
    print(f"    kubectl patch fraudmodel fd: model v{demo.models.versions[1]}")
    status = j.wait(s, demo.namespace, "Healthy on green", j.active("green", 2), demo.line)
    runs = [r for r in status["analysis"] if r["templateHash"] == status["activeHash"]]
    return "\n".join(f"    {r['kind']}-promotion {r['result']}: {r['message']}" for r in runs)


def rollback(demo: OperatorDemo) -> str:
    s = demo.settings
    result = j.plugin(s, demo.namespace, "rollback", "fd", "--wait", "--timeout", "120")
    if result.returncode != 0:
        raise RuntimeError(result.stdout + result.stderr)
    j.wait(s, demo.namespace, "back on blue", j.active("blue", 1), demo.line)
    return f"    kubectl fraudmodel rollback fd → {result.stdout.strip()}"


def bad_version(demo: OperatorDemo) -> str:
    s = demo.settings
    patch = json.dumps({"spec": {"model": {"name": demo.models.name, "version": demo.models.versions[2]}}})
    j.k(s, "-n", demo.namespace, "patch", "fraudmodel", "fd", "--type=merge", "-p", patch)
    print(f"    kubectl patch fraudmodel fd: model v{demo.models.versions[2]} (shuffled labels)")
    status = j.wait(s, demo.namespace, "Degraded", lambda st: st.get("phase") == "Degraded", demo.line)
    verdict = [r for r in status["analysis"] if r["kind"] == "pre"][-1]
    return f"    refused: {verdict['message']}\n    traffic stays on {status['activeColour']}"


def traffic_summary(demo: OperatorDemo) -> str:
    assert demo.traffic is not None
    demo.traffic.__exit__()
    if demo.traffic.failed:
        raise RuntimeError(f"requests failed during the switches: {demo.traffic.summary()}")
    return f"    through a promotion, a rollback and a refused model: {demo.traffic.summary()}"


def stream_followed(demo: OperatorDemo) -> str:
    assert demo.stream is not None
    outcome = demo.stream.finish()
    r = outcome.reconciliation
    if not r.exact:
        raise RuntimeError(f"the stream's counts do not add up: {r}")
    judged, text = sf.report(outcome.scores, demo.switches, demo.stream.started_ms)
    for f in judged:
        if f.first_new_ms is None:
            raise RuntimeError(f"no score from {f.switch.to} after the switch to it\n{text}")
    return (
        f"{text}\n    {r.produced} produced = {r.scored} scored + {r.dead_lettered} dead letters, {r.alerts} alerts, "
        f"{len(r.duplicate_ids)} duplicates (read_committed)"
    )


STEPS: list[tuple[str, Callable[[OperatorDemo], str]]] = [
    ("real node up (containerd + runc, kubelet, kube-proxy)", node_up),
    ("three model versions in MLflow", models),
    ("the operator, as a pod of our chart", operator_pod),
    ("FraudModel v1 → blue pods serving", first_version),
    ("one transaction scored through the stable Service", score),
    ("the streaming job scores through the same stable Service", stream_start),
    ("v2 → green previewed, gated, promoted (under live traffic)", new_version),
    ("kubectl fraudmodel rollback (under live traffic)", rollback),
    ("a bad model is refused by the quality gate", bad_version),
    ("the client's count", traffic_summary),
    ("the streaming job's scores followed the switches (5 s per line)", stream_followed),
]


def main(argv: list[str] | None = None) -> int:
    import argparse

    argparse.ArgumentParser(
        prog="make demo-operator", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args(argv)
    demo = OperatorDemo(load_settings())
    took = run_steps("demo-operator", demo, STEPS)
    if demo.traffic is not None:
        demo.traffic.__exit__()
    if took is None:
        if demo.stream is not None:
            demo.stream.abandon()
        return 1
    print(f"\nrollout demo finished in {took:.0f}s. Where to look:")
    print(f"  {demo.kubectl('get', 'fraudmodels,deployments,pods', '-o', 'wide')}")
    print(f"  PATH=.venv/bin:$PATH {demo.kubectl('fraudmodel', 'history', 'fd')}")
    print(f"  {demo.kubectl('logs', 'deployment/fraud-operator')}")
    print("  stop everything  make down\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
