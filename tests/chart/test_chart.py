"""The Helm chart: lint and render every ci/ scenario, reject unknown values, install and upgrade it
into the real control plane (CRD, operator, FraudModels), and `kubectl explain` teaches the CRD."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from lfd_dev.settings import Settings
from tests.chart.helmtool import CHART, KUBE_VERSION, SCENARIOS, helm, render
from tests.conftest import Cluster

#: The manifest the README tells users to `kubectl apply` (applied under another name, beside the release's).
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fraudmodel.yaml"


@pytest.mark.unit
@pytest.mark.parametrize("values", SCENARIOS, ids=lambda p: p.name)
def test_every_scenario_lints_and_renders(stack_settings: Settings, values: Path) -> None:
    lint = helm(stack_settings, "lint", str(CHART), "-f", str(values), "--kube-version", KUBE_VERSION, "--strict")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    kinds = {str(d["kind"]) for d in render(stack_settings, "-f", str(values))}
    assert {"Deployment", "Role", "RoleBinding", "ServiceAccount"} <= kinds


@pytest.mark.unit
def test_full_scenario_renders_a_fraudmodel_and_the_flink_job(stack_settings: Settings) -> None:
    docs = render(stack_settings, "-f", str(CHART / "ci" / "full-values.yaml"))
    by_kind = {str(d["kind"]): d for d in docs}
    fraud_model = by_kind["FraudModel"]
    assert fraud_model["spec"] == {
        "model": {"name": "fraud-detector", "version": "3"},
        "autoscaling": {"minReplicas": 2, "maxReplicas": 20},
        "image": "ghcr.io/live-fraud-detector/scoring:0.1.0",  # scoring.image, the chart's one image block
    }
    flink = by_kind["FlinkDeployment"]["spec"]
    assert flink["job"]["entryClass"] == "org.apache.flink.client.python.PythonDriver"
    assert flink["job"]["upgradeMode"] in {"savepoint", "last-state"}
    args = flink["job"]["args"]
    assert args[args.index("--scoring-url") + 1] == "http://fraud-detector:3000"
    assert args[args.index("--shadow-url") + 1] == "http://fraud-detector-preview:3000"
    assert args[args.index("--model-name") + 1] == "fraud-detector"


@pytest.mark.unit
def test_the_flink_job_addresses_the_model_its_fraudmodel_serves(stack_settings: Settings, tmp_path: Path) -> None:
    """A FraudModel "fd" serving registered model "other-model": the job's OIP requests must name "other-model"
    (a 404 per batch otherwise, retried forever); the rendered args are parsed by the job's own flags."""
    import argparse

    from lfd.streaming.config import add_arguments, from_args

    values = tmp_path / "values.yaml"
    values.write_text(
        yaml.safe_dump(
            {
                "fraudModels": [{"name": "fd", "model": {"name": "other-model", "version": "3"}}],
                "streaming": {"enabled": True, "fraudModelName": "fd", "kafka": {"bootstrap": "b:9092"}},
            }
        )
    )
    args = next(d for d in render(stack_settings, "-f", str(values)) if d["kind"] == "FlinkDeployment")["spec"]["job"][
        "args"
    ]
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    config = from_args(parser.parse_args(args[args.index("lfd.streaming.job") + 1 :]))
    assert (config.model_name, config.scoring_url) == ("other-model", "http://fd:3000")
    explicit = render(stack_settings, "-f", str(values), "--set", "streaming.modelName=third")
    args = next(d for d in explicit if d["kind"] == "FlinkDeployment")["spec"]["job"]["args"]
    assert args[args.index("--model-name") + 1] == "third"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("operator.bogus=1", "additional properties 'bogus' not allowed"),
        ("streaming.kafka.transactionTimeoutMs=7200000", "transactionTimeoutMs"),
        ("streaming.upgradeMode=yolo", "upgradeMode"),
    ],
)
def test_schema_refuses_bad_values(stack_settings: Settings, override: str, message: str) -> None:
    result = helm(stack_settings, "template", "t", str(CHART), "--kube-version", KUBE_VERSION, "--set", override)
    assert result.returncode != 0
    assert message in result.stderr


@pytest.fixture
def release_namespace(helm: Cluster) -> Iterator[str]:
    namespace = f"chart-{uuid.uuid4().hex[:8]}"
    yield namespace
    helm_env = helm.env
    subprocess.run(
        [str(helm.helm), "uninstall", "lfd", "-n", namespace, "--wait"], env=helm_env, capture_output=True, timeout=120
    )
    subprocess.run(
        [str(helm.kubectl), "delete", "namespace", namespace, "--wait=false"],
        env=helm_env,
        capture_output=True,
        timeout=60,
    )


@pytest.mark.integration
def test_install_and_upgrade_into_the_control_plane(helm: Cluster, release_namespace: str) -> None:
    model = json.dumps(
        [
            {
                "name": "fraud-detector",
                "model": {"name": "fraud-detector", "version": "1"},
                "autoscaling": {"enabled": False},
                "replicas": 1,
            }
        ]
    )
    install = helm_cli(
        helm,
        "install",
        "lfd",
        str(CHART),
        "-n",
        release_namespace,
        "--create-namespace",
        "--set-json",
        f"fraudModels={model}",
        "--wait",
        "--timeout",
        "120s",
    )
    assert install.returncode == 0, install.stderr

    spec = kubectl_json(helm, "fraudmodel", "fraud-detector", "-n", release_namespace)["spec"]
    assert spec["model"]["version"] == "1"
    assert spec["rollout"]["strategy"] == "BlueGreen", "CRD defaults applied by the API server"
    operator = kubectl_json(helm, "deployment", "fraud-operator", "-n", release_namespace)
    assert operator["status"].get("availableReplicas") == 1, "--wait returned with the operator Available (kwok)"
    # A FraudModel the user applied with kubectl (not from values) must survive upgrades of the release.
    user_model = yaml.safe_load(EXAMPLE.read_text())
    user_model["metadata"]["name"] = "example-user-model"
    applied = subprocess.run(
        [str(helm.kubectl), "apply", "-n", release_namespace, "-f", "-"],
        input=yaml.safe_dump(user_model),
        env=helm.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert applied.returncode == 0, applied.stderr

    upgraded = json.dumps(
        [
            {
                "name": "fraud-detector",
                "model": {"name": "fraud-detector", "version": "2"},
                "autoscaling": {"enabled": False},
                "replicas": 1,
            }
        ]
    )
    upgrade = helm_cli(
        helm,
        "upgrade",
        "lfd",
        str(CHART),
        "-n",
        release_namespace,
        "--set-json",
        f"fraudModels={upgraded}",
        "--wait",
        "--timeout",
        "120s",
    )
    assert upgrade.returncode == 0, upgrade.stderr
    spec = kubectl_json(helm, "fraudmodel", "fraud-detector", "-n", release_namespace)["spec"]
    assert spec["model"]["version"] == "2"
    kept = kubectl_json(helm, "fraudmodel", "example-user-model", "-n", release_namespace)
    assert kept["spec"]["model"] == {"name": "fraud-detector", "version": "1"}, "the applied FraudModel survived"
    for kind, name in (
        ("networkpolicy", "fraud-operator"),
        ("poddisruptionbudget", "fraud-detector-scoring"),
        ("service", "fraud-operator-metrics"),
    ):
        assert kubectl_json(helm, kind, name, "-n", release_namespace)["metadata"]["name"] == name

    explain = subprocess.run(
        [str(helm.kubectl), "explain", "fraudmodel.spec.rollout"],
        env=helm.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert explain.returncode == 0, explain.stderr
    assert "scaleDownDelaySeconds" in explain.stdout and "DESCRIPTION" in explain.stdout


def helm_cli(cluster: Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(cluster.helm), *args], env=cluster.env, capture_output=True, text=True, timeout=240)


def kubectl_json(cluster: Cluster, *args: str) -> Any:
    result = subprocess.run(
        [str(cluster.kubectl), "get", *args, "-o", "json"], env=cluster.env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
