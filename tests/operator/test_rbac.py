"""The chart's least-privilege Role is enough: the operator, authenticated as its ServiceAccount (no admin),
rolls a FraudModel out on the real API server without a single Forbidden."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.operator.conftest import FraudModels, Kubectl
from tests.operator.harness import OperatorProcess
from tests.operator.test_e2e_rollout import healthy_on

CHART = Path(__file__).resolve().parents[2] / "charts" / "live-fraud-detector"
RBAC_TEMPLATES = ("operator-serviceaccount.yaml", "operator-role.yaml", "operator-rolebinding.yaml")
NO_ANALYSIS = {
    "rollout": {
        "prePromotionAnalysis": {"smoke": {"enabled": False}, "quality": {"enabled": False}},
        "postPromotionAnalysis": {"enabled": False},
        "scaleDownDelaySeconds": 2,
    }
}


def render_rbac(kubernetes: Any, namespace: str, workdir: Path) -> str:
    """`helm template` of just the operator's RBAC templates (plus the chart's helpers)."""
    chart = workdir / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: live-fraud-detector\nversion: 0.1.0\n")
    for name in (*RBAC_TEMPLATES, "_helpers.tpl"):
        shutil.copy(CHART / "templates" / name, chart / "templates" / name)
    # The templates read the chart's defaults (image blocks, service-account names): render with them.
    shutil.copy(CHART / "values.yaml", chart / "values.yaml")
    result = subprocess.run(
        [str(kubernetes.helm), "template", "lfd", str(chart), "--namespace", namespace],
        capture_output=True,
        text=True,
        env=kubernetes.env,
        check=True,
    )
    return result.stdout


def service_account_kubeconfig(kubernetes: Any, kubectl: Kubectl, namespace: str, path: Path) -> Path:
    token = kubectl("create", "token", "fraud-operator", "-n", namespace, "--duration=1h", check=True).stdout.strip()
    admin = yaml.safe_load(Path(kubernetes.kubeconfig).read_text())
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "sa",
        "clusters": [{"name": "lfd", "cluster": admin["clusters"][0]["cluster"]}],
        "users": [{"name": "fraud-operator", "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": "lfd", "user": "fraud-operator", "namespace": namespace}}],
    }
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.integration
def test_operator_runs_with_only_its_namespaced_role(
    kubernetes: Any, kubectl: Kubectl, fraudmodels: FraudModels, tmp_path: Path
) -> None:
    ns = fraudmodels.namespace
    kubectl("apply", "-n", ns, "-f", "-", input_text=render_rbac(kubernetes, ns, tmp_path), check=True)
    kubeconfig = service_account_kubeconfig(kubernetes, kubectl, ns, tmp_path / "sa.kubeconfig")
    denied = kubectl("--kubeconfig", str(kubeconfig), "auth", "can-i", "list", "secrets", "-n", ns)
    assert denied.stdout.strip() == "no", "the Role must not grant anything beyond what the operator needs"
    (tmp_path / "map.json").write_text("{}")
    operator = OperatorProcess(
        {**kubernetes.env, "KUBECONFIG": str(kubeconfig)},
        ns,
        tmp_path / "map.json",
        "http://127.0.0.1:1",
        tmp_path / "operator.log",
    ).start()
    try:
        fraudmodels.apply("good-v1", **NO_ANALYSIS)
        fraudmodels.wait(healthy_on("blue", 1), "blue Healthy as the ServiceAccount", timeout=120)
        fraudmodels.set_model("good-v2")
        fraudmodels.wait(healthy_on("green", 2), "green Healthy as the ServiceAccount", timeout=120)
        kinds = json.loads(kubectl("get", "deploy,svc,hpa", "-n", ns, "-o", "json", check=True).stdout)["items"]
        assert {k["kind"] for k in kinds} == {"Deployment", "Service", "HorizontalPodAutoscaler"}
    finally:
        operator.stop()
    log = operator.tail(200_000)
    assert "Forbidden" not in log and " 403" not in log, log[-3000:]
