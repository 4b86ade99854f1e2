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

from lfd_dev.settings import Settings, load_settings
from tests.conftest import Cluster

CHART = Path(__file__).resolve().parents[2] / "charts" / "live-fraud-detector"
SCENARIOS = sorted((CHART / "ci").glob("*-values.yaml"))
KUBE_VERSION = load_settings().versions["KUBERNETES_VERSION"].lstrip("v")


def helm(settings: Settings, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    binary = settings.tool("helm")
    assert binary.exists(), f"{binary} missing: run `make setup`"
    return subprocess.run([str(binary), *args], capture_output=True, text=True, env=env, timeout=180)


def render(settings: Settings, *args: str) -> list[dict[str, Any]]:
    result = helm(settings, "template", "t", str(CHART), "--kube-version", KUBE_VERSION, *args)
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


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
    }
    flink = by_kind["FlinkDeployment"]["spec"]
    assert flink["job"]["entryClass"] == "org.apache.flink.client.python.PythonDriver"
    assert flink["job"]["upgradeMode"] in {"savepoint", "last-state"}
    args = flink["job"]["args"]
    assert args[args.index("--scoring-url") + 1] == "http://fraud-detector:3000"
    assert args[args.index("--shadow-url") + 1] == "http://fraud-detector-preview:3000"


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
