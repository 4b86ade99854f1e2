"""The chart's long-running `lfd monitor` Deployment, rendered by the real helm: it runs the monitor command
the CLI really accepts, against the release's Kafka and MLflow, scraped through a Service (and a ServiceMonitor),
fenced by its own NetworkPolicy; with retraining on, its Role lets it patch exactly one FraudModel and post
Events, checked as that ServiceAccount on the real API server."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client.exceptions import ApiException
from mlflow import MlflowClient

from fraud_operator.crd import render as render_crd
from lfd.drift.cli import register
from lfd.drift.retrain import RetrainResult, update_fraudmodel
from lfd.training.pipeline import run as run_training
from lfd.training.register import promote
from lfd.training.report import TrainConfig
from lfd_dev.settings import Settings
from tests.chart.helmtool import CHART, render, template, template_values
from tests.conftest import Cluster

FULL = str(CHART / "ci" / "full-values.yaml")
NAME = "t-live-fraud-detector-monitor"
SIGNALS_ONLY = {"monitor": {"enabled": True, "mlflowTrackingUri": "http://mlflow.ml:5000"}}


def _by_kind(docs: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(str(d["kind"]), str(d["metadata"]["name"])): d for d in docs}


def _render(settings: Settings, values: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    result = template_values(settings, values)
    assert result.returncode == 0, result.stderr
    return _by_kind([d for d in yaml.safe_load_all(result.stdout) if d])


def parse_monitor_args(container: dict[str, Any]) -> argparse.Namespace:
    """The container's command line through the real `python -m lfd.drift` parser: a flag the CLI does not
    know, or a value of the wrong type, fails here instead of in a crash-looping pod."""
    assert container["command"] == ["python", "-m", "lfd.drift"]
    parser = argparse.ArgumentParser(prog="python -m lfd.drift", exit_on_error=False)
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(container["args"])


@pytest.mark.unit
def test_monitor_deployment_runs_the_monitor_against_the_release(stack_settings: Settings) -> None:
    docs = _by_kind(render(stack_settings, "-f", FULL))
    deployment = docs[("Deployment", NAME)]["spec"]
    assert deployment["replicas"] == 1 and deployment["strategy"]["type"] == "Recreate"
    pod = deployment["template"]["spec"]
    container = pod["containers"][0]
    args = parse_monitor_args(container)
    assert args.command == "monitor" and args.model_name == "fraud-detector"
    assert args.bootstrap == "b-1.msk.example:9098"  # streaming.kafka.bootstrap by default
    assert args.tracking_uri == "http://t-live-fraud-detector-mlflow.default.svc:5000"  # the chart's MLflow
    assert (args.metrics_port, args.drift_every, args.drift_window, args.label_window) == (9464, 300, 2000, 5000)
    assert args.report_dir == Path("/tmp/drift-reports")  # the writable emptyDir (read-only root)
    # full-values retrains: the FraudModel of the release, the mounted reference data
    assert args.retrain and args.fraudmodel == "default/fraud-detector"
    assert args.reference_data == Path("/data/reference/creditcard.csv") and args.cooldown == 3600
    assert {"name": "reference", "mountPath": "/data/reference", "readOnly": True} in container["volumeMounts"]
    # not the operator image: that one carries only the operator's dependencies (no Evidently, MLflow, Kafka)
    assert container["image"].startswith("ghcr.io/live-fraud-detector/drift:")
    assert container["ports"] == [{"name": "metrics", "containerPort": 9464}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/metrics", "port": "metrics"}
    # restricted like every pod of the chart; the token only because it patches a FraudModel
    assert pod["serviceAccountName"] == NAME and pod["automountServiceAccountToken"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    # scraped: a Service on the metrics port and a ServiceMonitor selecting it
    service = docs[("Service", NAME)]["spec"]
    assert service["ports"][0]["targetPort"] == "metrics" and service["ports"][0]["port"] == 9464
    monitor = docs[("ServiceMonitor", NAME)]
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    selected = monitor["spec"]["selector"]["matchLabels"]
    assert selected.items() <= docs[("Service", NAME)]["metadata"]["labels"].items()
    assert service["selector"].items() <= deployment["template"]["metadata"]["labels"].items()


@pytest.mark.unit
def test_monitor_role_patches_one_fraudmodel_and_posts_events(stack_settings: Settings) -> None:
    docs = _by_kind(render(stack_settings, "-f", FULL))
    rules = docs[("Role", NAME)]["rules"]
    assert rules == [
        {
            "apiGroups": ["ml.livefraud.io"],
            "resources": ["fraudmodels"],
            "resourceNames": ["fraud-detector"],
            "verbs": ["patch"],
        },
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
    ]
    binding = docs[("RoleBinding", NAME)]
    assert binding["roleRef"]["name"] == NAME and binding["subjects"][0]["name"] == NAME


@pytest.mark.unit
def test_monitor_network_policy(stack_settings: Settings) -> None:
    docs = _by_kind(render(stack_settings, "-f", FULL))
    policy = docs[("NetworkPolicy", NAME)]["spec"]
    assert policy["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "monitor"
    # ingress: only the monitoring namespace, on the metrics port
    assert policy["ingress"] == [
        {
            "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
            "ports": [{"port": "metrics", "protocol": "TCP"}],
        }
    ]
    ports = {p["port"] for rule in policy["egress"] for p in rule["ports"]}
    assert ports == {53, 9092, 9094, 9096, 9098, 5000, 443, 6443}  # DNS, Kafka, MLflow, API server
    api = next(r for r in policy["egress"] if {"port": 6443, "protocol": "TCP"} in r["ports"])
    assert api["to"] == [{"ipBlock": {"cidr": "10.0.0.0/16"}}]  # networkPolicy.apiServerCidrs


@pytest.mark.unit
def test_signals_only_monitor_has_no_token_no_role_and_no_api_egress(stack_settings: Settings) -> None:
    docs = _render(stack_settings, SIGNALS_ONLY)
    pod = docs[("Deployment", NAME)]["spec"]["template"]["spec"]
    args = parse_monitor_args(pod["containers"][0])
    assert not args.retrain and args.fraudmodel is None and args.tracking_uri == "http://mlflow.ml:5000"
    assert args.bootstrap == "kafka:9092"
    assert pod["automountServiceAccountToken"] is False
    assert docs[("ServiceAccount", NAME)]["automountServiceAccountToken"] is False
    assert ("Role", NAME) not in docs and ("RoleBinding", NAME) not in docs
    assert ("ServiceMonitor", NAME) not in docs  # metrics.serviceMonitor is off by default
    ports = {p["port"] for r in docs[("NetworkPolicy", NAME)]["spec"]["egress"] for p in r["ports"]}
    assert 443 not in ports and 6443 not in ports
    waivers = docs[("Deployment", NAME)]["metadata"]["annotations"].values()
    assert not any(w.startswith("CKV_K8S_38") for w in waivers)
    assert not any(name == NAME for kind, name in _render(stack_settings, {}) if kind == "Deployment")


@pytest.mark.unit
@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"monitor": {"enabled": True}}, "monitor: set monitor.mlflowTrackingUri, operator.mlflowTrackingUri or"),
        (
            {"monitor": {**SIGNALS_ONLY["monitor"], "retrain": {"enabled": True, "referenceData": "/d.csv"}}},
            "monitor: set monitor.retrain.fraudModelName or add a fraudModels item",
        ),
        (
            {"monitor": {**SIGNALS_ONLY["monitor"], "retrain": {"enabled": True, "fraudModelName": "fm"}}},
            "monitor: set monitor.retrain.referenceData",
        ),
        ({**SIGNALS_ONLY, "streaming": {"topics": {"scores": "s2"}}}, "lfd monitor reads the default topics"),
        ({"monitor": {**SIGNALS_ONLY["monitor"], "driftWindow": 10}}, "driftWindow"),
        ({"monitor": {**SIGNALS_ONLY["monitor"], "extraArgs": ["retrain"]}}, "extraArgs"),
        ({"monitor": {**SIGNALS_ONLY["monitor"], "metricsPort": 0}}, "metricsPort"),
    ],
    ids=["no-mlflow", "retrain-no-fraudmodel", "retrain-no-data", "renamed-topic", "tiny-window", "bad-arg", "port"],
)
def test_monitor_values_are_refused_with_the_field(
    stack_settings: Settings, values: dict[str, Any], message: str
) -> None:
    result = template_values(stack_settings, values)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr


@pytest.mark.integration
def test_monitor_service_account_may_patch_its_fraudmodel_and_nothing_else(
    kubernetes: Cluster, stack_settings: Settings, tmp_path: Path
) -> None:
    """As the chart's ServiceAccount (not admin) on the real API server: the retrain's update of its FraudModel
    and the Event succeed; the same on another FraudModel, or anything else, is Forbidden."""
    ns = f"monitor-{uuid.uuid4().hex[:8]}"
    kubectl = _kubectl(kubernetes)
    kubectl("apply", "-f", "-", stdin=render_crd())
    kubectl("wait", "--for=condition=Established", "crd/fraudmodels.ml.livefraud.io", "--timeout=60s")
    kubectl("create", "namespace", ns)
    try:
        values = {"monitor": {**SIGNALS_ONLY["monitor"], "retrain": {"enabled": True, "fraudModelName": "fm"}}}
        values["monitor"]["retrain"]["referenceData"] = "/data/reference.csv"
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            json.dump(values, f)
            f.flush()
            rendered = template(stack_settings, "-f", f.name, "--namespace", ns)
        assert rendered.returncode == 0, rendered.stderr
        docs = [d for d in yaml.safe_load_all(rendered.stdout) if d]
        dry = [d for d in docs if "monitor" in d["metadata"]["name"] and d["kind"] not in {"ServiceMonitor"}]
        kinds = {d["kind"] for d in dry}
        assert kinds == {"Deployment", "Service", "ServiceAccount", "Role", "RoleBinding", "NetworkPolicy"}
        # every monitor object is valid for the real API server (server-side dry run)
        kubectl("apply", "--dry-run=server", "-f", "-", stdin="\n---\n".join(yaml.safe_dump(d) for d in dry))
        rbac = [d for d in dry if d["kind"] in {"ServiceAccount", "Role", "RoleBinding"}]
        kubectl("apply", "-f", "-", stdin="\n---\n".join(yaml.safe_dump(d) for d in rbac))
        for name in ("fm", "other"):
            manifest = {
                "apiVersion": "ml.livefraud.io/v1alpha1",
                "kind": "FraudModel",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"model": {"name": "fraud-detector", "uri": "/models/v1"}},
            }
            kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
        kubeconfig = _service_account_kubeconfig(kubernetes, kubectl, ns, NAME, tmp_path / "sa.kubeconfig")
        result = RetrainResult("9", "abc", "http://mlflow:5000/#/experiments/1/runs/abc", None, 7500)
        patched = update_fraudmodel(ns, "fm", result, "drift share 0.40 >= 0.3", kubeconfig)
        assert patched["spec"]["model"] == {"name": "fraud-detector", "version": "9"}
        events = json.loads(kubectl("get", "events", "-n", ns, "-o", "json"))["items"]
        assert [e["reason"] for e in events if e["involvedObject"]["name"] == "fm"] == ["RetrainRegistered"]
        with pytest.raises(ApiException) as refused:
            update_fraudmodel(ns, "other", result, "drift", kubeconfig)
        assert refused.value.status == 403
        for verb, resource in (("list", "fraudmodels"), ("create", "deployments"), ("get", "secrets")):
            answer = subprocess.run(
                [str(kubernetes.kubectl), "--kubeconfig", str(kubeconfig), "auth", "can-i", verb, resource, "-n", ns],
                capture_output=True,
                text=True,
                timeout=60,
            ).stdout.strip()
            assert answer == "no", f"the monitor's Role must not allow {verb} {resource}"
    finally:
        kubectl("delete", "namespace", ns, "--wait=false")


@pytest.mark.integration
def test_rendered_monitor_command_runs_against_the_local_stack(
    kafka: str, mlflow_server: str, stack_settings: Settings, tmp_path: Path
) -> None:
    """The Deployment's command line, exactly as rendered (endpoints given as values), run as a process on the
    local stack with a freshly registered champion: it loads the champion, serves the gauges on the rendered
    port, runs its evaluation loop, and stops cleanly on SIGTERM (what the kubelet sends). Not a container: the
    image it names is not built here (docs/monitoring.md, "Not done yet")."""
    name = f"fraud-detector-test-{uuid.uuid4().hex[:8]}"
    report = run_training(
        TrainConfig(
            time_budget=2,
            max_trials=1,
            families=("lightgbm",),
            tracking_uri=mlflow_server,
            model_name=name,
            experiment="fraud-detector-tests",
            output_dir=tmp_path / "train",
            show_progress=False,
        )
    )
    assert report.registered_version is not None, report.registration_refused
    promote(name, report.registered_version)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    values = {
        "monitor": {
            "enabled": True,
            "modelName": name,
            "kafkaBootstrap": kafka,
            "mlflowTrackingUri": mlflow_server,
            "metricsPort": port,
            "driftEvery": 600,
        }
    }
    container = _render(stack_settings, values)[("Deployment", NAME)]["spec"]["template"]["spec"]["containers"][0]
    env = {**os.environ, **{e["name"]: str(tmp_path / e["value"].lstrip("/")) for e in container["env"]}}
    # the image's `python` is this environment's; the report dir moves from the pod's /tmp to this test's
    args = [
        a if not a.startswith("--report-dir=") else f"--report-dir={tmp_path / 'reports'}" for a in container["args"]
    ]
    log = tmp_path / "monitor.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, *container["command"][1:], *args], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    try:
        loaded = f"champion version {report.registered_version}; metrics on :{port}/metrics"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and loaded not in log.read_text():
            assert process.poll() is None, f"the monitor exited {process.returncode}:\n{log.read_text()[-3000:]}"
            time.sleep(1)
        assert loaded in log.read_text(), log.read_text()[-3000:]
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
        assert "# TYPE lfd_label_pr_auc_weighted gauge" in metrics and "lfd_shadow_agreement" in metrics
        time.sleep(10)  # consuming the topics (whatever earlier tests left there) must not crash it
        assert process.poll() is None, f"the monitor exited {process.returncode}:\n{log.read_text()[-3000:]}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            # SIGTERM ends the loop after its current step; a drift check in progress (Evidently on whatever the
            # topics hold) may outlast the kubelet's 30 s grace period, after which it SIGKILLs, as here.
            code: int | None = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
            code = None
        MlflowClient().delete_registered_model(name)
    assert code in (0, None), log.read_text()[-3000:]


def _kubectl(cluster: Cluster) -> Any:
    def run(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [str(cluster.kubectl), *args], input=stdin, capture_output=True, text=True, env=cluster.env, timeout=120
        )
        assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
        return done.stdout

    return run


def _service_account_kubeconfig(cluster: Cluster, kubectl: Any, ns: str, account: str, path: Path) -> Path:
    token = kubectl("create", "token", account, "-n", ns, "--duration=1h").strip()
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "sa",
        "clusters": [{"name": "lfd", "cluster": admin["clusters"][0]["cluster"]}],
        "users": [{"name": account, "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": "lfd", "user": account, "namespace": ns}}],
    }
    path.write_text(yaml.safe_dump(config))
    return path
