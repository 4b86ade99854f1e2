"""The chart's monitoring objects, rendered by the real helm: the PrometheusRule carries every rule file the
local Prometheus loads, the Grafana dashboard ConfigMap carries the dashboard the tests query, and the drift
CronJob runs `python -m lfd.drift drift` against the release's Kafka and MLflow, restricted and fenced."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from lfd_dev.settings import Settings
from tests.chart.helmtool import CHART, render, template_values
from tests.conftest import Cluster

REPO = CHART.parents[1]
FULL = str(CHART / "ci" / "full-values.yaml")
RULES = REPO / "stack" / "prometheus" / "rules"


def assert_links_to(local: Path, chart_file: Path) -> None:
    """One source: the file the local stack loads (and promtool tests) is a symbolic link to what the chart
    ships, not a copy that could drift. The chart holds the real file: what ships needs nothing from stack/."""
    assert local.is_symlink() and local.resolve() == chart_file.resolve(), f"{local} must link to {chart_file}"
    assert not chart_file.is_symlink(), f"{chart_file} must be the file itself (helm packages it)"


def _by_kind(docs: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(str(d["kind"]), str(d["metadata"]["name"])): d for d in docs}


@pytest.mark.unit
@pytest.mark.parametrize("name", sorted(p.name for p in RULES.glob("*.yml")))
def test_every_local_rule_file_is_in_the_prometheus_rule(stack_settings: Settings, name: str) -> None:
    local = yaml.safe_load((RULES / name).read_text())
    assert_links_to(RULES / name, CHART / "files" / "prometheus" / name)
    rule = _by_kind(render(stack_settings, "-f", FULL))[("PrometheusRule", "t-live-fraud-detector")]["spec"]
    for group in local["groups"]:
        assert group in rule["groups"]
    alerts = {r.get("alert") for g in rule["groups"] for r in g["rules"]}
    assert name != "fraud.yml" or {"FeatureDriftHigh", "LabelPrAucDrop", "RolloutStuck"} <= alerts


@pytest.mark.unit
def test_grafana_dashboard_configmap(stack_settings: Settings) -> None:
    docs = _by_kind(render(stack_settings, "-f", FULL))
    cm = docs[("ConfigMap", "t-live-fraud-detector-dashboard")]
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert cm["metadata"]["annotations"]["grafana_folder"] == "live-fraud-detector"
    dashboard = REPO / "stack" / "grafana" / "live-fraud-detector.json"
    assert_links_to(dashboard, CHART / "files" / "grafana" / "live-fraud-detector.json")
    assert json.loads(cm["data"]["live-fraud-detector.json"]) == json.loads(dashboard.read_text())
    off = _by_kind(render(stack_settings))
    assert ("ConfigMap", "t-live-fraud-detector-dashboard") not in off


@pytest.mark.unit
def test_drift_cronjob_runs_the_drift_check_against_the_release(stack_settings: Settings) -> None:
    docs = _by_kind(render(stack_settings, "-f", FULL))
    cron = docs[("CronJob", "t-live-fraud-detector-drift")]["spec"]
    assert cron["schedule"] == "*/15 * * * *" and cron["concurrencyPolicy"] == "Forbid"
    pod = cron["jobTemplate"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["command"] == ["python", "-m", "lfd.drift"]
    args = container["args"]
    assert args[0] == "drift" and "--window=2000" in args and "--model-name=fraud-detector" in args
    assert "--bootstrap=b-1.msk.example:9098" in args  # streaming.kafka.bootstrap by default
    assert "--tracking-uri=http://t-live-fraud-detector-mlflow.default.svc:5000" in args  # the chart's MLflow
    # not the operator image: that one carries only the operator's dependencies (no Evidently, MLflow, Kafka)
    assert container["image"].startswith("ghcr.io/live-fraud-detector/drift:")
    # restricted like every pod of the chart, no API token (it never talks to the API server)
    assert pod["automountServiceAccountToken"] is False and pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"mountPath": "/tmp", "name": "tmp"} in container["volumeMounts"]
    # fenced: no ingress, egress to DNS, Kafka ports, the chart's MLflow
    policy = docs[("NetworkPolicy", "t-live-fraud-detector-drift")]["spec"]
    assert policy["ingress"] == [] and policy["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "drift"
    ports = {p["port"] for rule in policy["egress"] for p in rule["ports"]}
    assert {53, 9092, 9098, 5000} <= ports


@pytest.mark.unit
@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"drift": {"enabled": True}}, "drift: set drift.mlflowTrackingUri, operator.mlflowTrackingUri or mlflow"),
        ({"drift": {"enabled": True, "schedule": "every hour"}}, "schedule"),
        ({"drift": {"enabled": True, "window": 10}}, "window"),
    ],
    ids=["no-mlflow", "bad-schedule", "tiny-window"],
)
def test_drift_values_are_refused_with_the_field(
    stack_settings: Settings, values: dict[str, Any], message: str
) -> None:
    result = template_values(stack_settings, values)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr


@pytest.mark.unit
def test_drift_uses_the_given_endpoints(stack_settings: Settings) -> None:
    values = {"drift": {"enabled": True, "mlflowTrackingUri": "http://mlflow.ml:5000", "kafkaBootstrap": "k:9092"}}
    result = template_values(stack_settings, values)
    assert result.returncode == 0, result.stderr
    docs = _by_kind([d for d in yaml.safe_load_all(result.stdout) if d])
    args = docs[("CronJob", "t-live-fraud-detector-drift")]["spec"]["jobTemplate"]["spec"]["template"]["spec"][
        "containers"
    ][0]["args"]
    assert "--tracking-uri=http://mlflow.ml:5000" in args and "--bootstrap=k:9092" in args


@pytest.mark.integration
def test_the_api_server_accepts_the_monitoring_objects(kubernetes: Cluster, stack_settings: Settings) -> None:
    """Server-side dry run: the real API server validates the CronJob, ConfigMap and NetworkPolicy schemas."""
    wanted = {"CronJob", "ConfigMap", "NetworkPolicy"}
    docs = [d for d in render(stack_settings, "-f", FULL) if d["kind"] in wanted and "drift" in d["metadata"]["name"]]
    docs += [d for d in render(stack_settings, "-f", FULL) if d["kind"] == "ConfigMap"]
    assert {d["kind"] for d in docs} == wanted
    for doc in docs:
        doc["metadata"]["namespace"] = "default"
    done = subprocess.run(
        [str(kubernetes.kubectl), "apply", "--dry-run=server", "-f", "-"],
        input="\n---\n".join(yaml.safe_dump(d) for d in docs),
        capture_output=True,
        text=True,
        env=kubernetes.env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "cronjob.batch/t-live-fraud-detector-drift created (server dry run)" in done.stdout
