"""The chart's production features, rendered by the real helm: operator metrics Service, disruption
budgets, NetworkPolicies, prometheus-operator monitors and rules, MLflow, the `helm test` hook, one image
block per component (tag or digest), and a values schema generated from values.yaml and the CRD."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import tempfile
import threading
from typing import Any, ClassVar

import pytest
import yaml

from lfd.contract import EXAMPLE_TRANSACTION
from lfd.response import build_request, build_result
from lfd_dev.settings import Settings
from tests.chart.helmtool import CHART, render, template, template_values

pytestmark = pytest.mark.unit

REPO = CHART.parents[1]
FULL = str(CHART / "ci" / "full-values.yaml")
MODEL = {"name": "fraud-detector", "model": {"name": "fraud-detector", "version": "3"}}


def _by_kind(docs: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(str(d["kind"]), str(d["metadata"]["name"])): d for d in docs}


def test_values_schema_is_generated_and_strict() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("values_schema", REPO / "charts" / "values_schema.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = (CHART / "values.schema.json").read_text()
    assert committed == module.render(), "regenerate: .venv/bin/python charts/values_schema.py > ...values.schema.json"

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                assert node.get("additionalProperties") is False, f"{path} accepts unknown keys"
            for key, child in node.items():
                walk(child, f"{path}.{key}")
        elif isinstance(node, list):
            for i, child in enumerate(node):
                walk(child, f"{path}[{i}]")

    walk(json.loads(committed), "$")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"operator": {"imagee": {}}}, "additional properties 'imagee' not allowed"),
        ({"fraudModels": [{**MODEL, "replicaz": 2}]}, "additional properties 'replicaz' not allowed"),
        ({"fraudModels": [{**MODEL, "rollout": {"autoPromotion": "yes"}}]}, "autoPromotion"),
        ({"scoring": {"image": {"digest": "latest"}}}, "digest"),
        ({"mlflow": {"image": {"pullPolicy": "Sometimes"}}}, "pullPolicy"),
        ({"operator": {"serviceAddress": "mdns"}}, "serviceAddress"),
    ],
    ids=["operator-typo", "fraudmodel-typo", "fraudmodel-type", "digest-format", "pull-policy", "service-address"],
)
def test_a_values_typo_fails_naming_the_field(stack_settings: Settings, values: dict[str, Any], message: str) -> None:
    result = template_values(stack_settings, values)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr


def test_one_image_block_per_component_by_tag_or_digest(stack_settings: Settings) -> None:
    docs = _by_kind(render(stack_settings, "-f", FULL))
    operator = docs[("Deployment", "fraud-operator")]["spec"]["template"]["spec"]
    assert operator["containers"][0]["image"] == ("ghcr.io/live-fraud-detector/operator@sha256:" + "0" * 63 + "1")
    assert operator["imagePullSecrets"] == [{"name": "registry-credentials"}]
    assert docs[("FraudModel", "fraud-detector")]["spec"]["image"] == "ghcr.io/live-fraud-detector/scoring:0.1.0"
    tagged = _by_kind(
        render(stack_settings, "--set", "scoring.image.tag=2.0.0", "--set-json", f"fraudModels=[{json.dumps(MODEL)}]")
    )
    assert tagged[("FraudModel", "fraud-detector")]["spec"]["image"] == "ghcr.io/live-fraud-detector/scoring:2.0.0"


def test_operator_metrics_service_and_monitors(stack_settings: Settings) -> None:
    docs = _by_kind(render(stack_settings, "-f", FULL))
    service = docs[("Service", "fraud-operator-metrics")]["spec"]
    assert service["ports"] == [{"name": "metrics", "port": 9108, "targetPort": "metrics", "protocol": "TCP"}]
    assert service["selector"]["app.kubernetes.io/component"] == "operator"
    monitor = docs[("ServiceMonitor", "fraud-operator")]
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    pod_monitor = docs[("PodMonitor", "t-live-fraud-detector-scoring")]["spec"]
    relabel = {r["targetLabel"]: r["sourceLabels"] for r in pod_monitor["podMetricsEndpoints"][0]["relabelings"]}
    # What fraud_operator/analysis/slo.py selects on: namespace, fraudmodel, colour.
    assert relabel == {
        "fraudmodel": ["__meta_kubernetes_pod_label_ml_livefraud_io_fraudmodel"],
        "colour": ["__meta_kubernetes_pod_label_ml_livefraud_io_colour"],
        "namespace": ["__meta_kubernetes_namespace"],
    }


def test_disruption_budget_per_fraudmodel_over_both_colours(stack_settings: Settings) -> None:
    docs = _by_kind(render(stack_settings, "-f", FULL))
    pdb = docs[("PodDisruptionBudget", "fraud-detector-scoring")]["spec"]
    assert pdb == {"maxUnavailable": 1, "selector": {"matchLabels": {"ml.livefraud.io/fraudmodel": "fraud-detector"}}}


def test_network_policies(stack_settings: Settings) -> None:
    docs = _by_kind(render(stack_settings, "-f", FULL))
    scoring = docs[("NetworkPolicy", "t-live-fraud-detector-scoring")]["spec"]
    sources = scoring["ingress"][0]["from"]
    components = {s["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for s in sources if "podSelector" in s}
    assert components == {"streaming", "operator", "helm-test"}
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}} in sources
    operator = docs[("NetworkPolicy", "fraud-operator")]["spec"]
    assert operator["policyTypes"] == ["Ingress", "Egress"]
    egress = operator["egress"]
    assert egress[0]["to"] == [{"ipBlock": {"cidr": "10.0.0.0/16"}}]  # the API server
    assert {p["port"] for p in egress[0]["ports"]} == {443, 6443}
    allowed = json.dumps(egress)
    assert "kube-dns" in allowed and '"port": 9090' in allowed and '"port": 5000' in allowed  # DNS, Prometheus, MLflow
    # The Flink pods carry the label the scoring policy admits.
    flink = docs[("FlinkDeployment", "t-live-fraud-detector-streaming")]["spec"]
    assert flink["podTemplate"]["metadata"]["labels"]["app.kubernetes.io/component"] == "streaming"


def test_mlflow_serves_s3_artifacts_through_irsa(stack_settings: Settings) -> None:
    docs = _by_kind(render(stack_settings, "-f", FULL))
    account = docs[("ServiceAccount", "mlflow")]
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith(":role/lfd-mlflow")
    pod = docs[("Deployment", "t-live-fraud-detector-mlflow")]["spec"]["template"]["spec"]
    command = pod["containers"][0]["command"]
    assert "--artifacts-destination=s3://lfd-artifacts-example/mlflow" in command and "--serve-artifacts" in command
    assert pod["serviceAccountName"] == "mlflow"
    operator = docs[("Deployment", "fraud-operator")]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--mlflow-tracking-uri=http://t-live-fraud-detector-mlflow.default.svc:5000" in operator
    # the scoring pods the operator creates run as the chart's scoring ServiceAccount (its IRSA role)
    assert "--scoring-service-account=fraud-scoring" in operator
    assert docs[("ServiceAccount", "fraud-scoring")]["metadata"]["name"] == "fraud-scoring"


def test_helm_test_scores_the_contract_example_through_the_stable_service(stack_settings: Settings) -> None:
    result = template(stack_settings, "-f", FULL, "--show-only", "templates/tests/score-one-transaction.yaml")
    assert result.returncode == 0, result.stderr
    pod = yaml.safe_load(result.stdout)
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    container = pod["spec"]["containers"][0]
    assert container["command"][-1] == "http://fraud-detector.default.svc:3000/score"
    assert "from lfd.contract import EXAMPLE_TRANSACTION" in container["command"][2]
    no_model = template(stack_settings, "--show-only", "templates/tests/score-one-transaction.yaml")
    assert no_model.returncode != 0 and "could not find template" in no_model.stderr  # no FraudModel, no test


def test_the_test_pod_can_be_placed_and_given_host_aliases(stack_settings: Settings) -> None:
    """For tainted node pools and clusters without cluster DNS (tests/node runs the hook on a real node)."""
    placed = {
        "tests": {
            "nodeSelector": {"pool": "scoring"},
            "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
            "hostAliases": [{"ip": "10.96.0.10", "hostnames": ["fraud-detector.default.svc"]}],
        }
    }
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as extra:
        json.dump(placed, extra)
        extra.flush()
        result = template(
            stack_settings, "-f", FULL, "-f", extra.name, "--show-only", "templates/tests/score-one-transaction.yaml"
        )
    assert result.returncode == 0, result.stderr
    pod = yaml.safe_load(result.stdout)["spec"]
    assert pod["nodeSelector"] == {"pool": "scoring"}
    assert pod["tolerations"] == placed["tests"]["tolerations"]
    assert pod["hostAliases"] == placed["tests"]["hostAliases"]
    assert pod["containers"][0]["command"][-1] == "http://fraud-detector.default.svc:3000/score"  # unchanged
    typo = template_values(stack_settings, {"tests": {"hostAliases": [{"ip": "10.96.0.10", "hostname": ["x"]}]}})
    assert typo.returncode != 0 and "additional properties 'hostname' not allowed" in typo.stderr, typo.stderr


def test_every_pod_runs_restricted(stack_settings: Settings) -> None:
    """Pod Security "restricted" (the namespace the Pulumi program creates enforces it)."""
    docs = render(stack_settings, "-f", FULL)
    test_pod = template(stack_settings, "-f", FULL, "--show-only", "templates/tests/score-one-transaction.yaml")
    pods = [d["spec"]["template"]["spec"] for d in docs if d["kind"] == "Deployment"]
    pods.append(yaml.safe_load(test_pod.stdout)["spec"])
    assert len(pods) == 4  # operator, MLflow, the drift monitor, the helm test pod
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for c in pod["containers"]:
            assert c["securityContext"]["allowPrivilegeEscalation"] is False
            assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}


class _Stand(http.server.BaseHTTPRequestHandler):
    """Answers POST /score like the scoring service, or (results=[]) like a broken one."""

    results: ClassVar[list[dict[str, Any]]] = []
    received: ClassVar[Any] = None

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Stand.received = body
        payload = json.dumps({"results": self.results}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_: Any) -> None:
        pass


GOOD = build_result(
    "tx-example-0001", 0.02, threshold=0.5, model={"name": "fraud-detector", "version": "3"}, reasons=[]
)


@pytest.mark.parametrize(("results", "ok"), [([GOOD], True), ([], False)], ids=["scored", "no-result"])
def test_the_helm_test_script_passes_and_fails_on_what_comes_back(
    stack_settings: Settings, results: list[dict[str, Any]], ok: bool
) -> None:
    result = template(stack_settings, "-f", FULL, "--show-only", "templates/tests/score-one-transaction.yaml")
    script = yaml.safe_load(result.stdout)["spec"]["containers"][0]["command"][2]
    _Stand.results = results
    server = http.server.HTTPServer(("127.0.0.1", 0), _Stand)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/score"
        run = subprocess.run([sys.executable, "-c", script, url], capture_output=True, text=True, timeout=60)
    finally:
        server.shutdown()
    assert _Stand.received == build_request([EXAMPLE_TRANSACTION])
    assert (run.returncode == 0) is ok, run.stdout + run.stderr
    if not ok:
        assert "lacks a result for id 'tx-example-0001'" in run.stderr


def test_the_gates_address_services_by_dns_unless_the_cluster_has_none(stack_settings: Settings) -> None:
    def operator_args(values: dict[str, Any]) -> list[str]:
        result = template_values(stack_settings, values)
        assert result.returncode == 0, result.stderr
        docs = _by_kind([d for d in yaml.safe_load_all(result.stdout) if d])
        args: list[str] = docs[("Deployment", "fraud-operator")]["spec"]["template"]["spec"]["containers"][0]["args"]
        return args

    assert "--service-address=dns" in operator_args({})
    assert "--service-address=cluster-ip" in operator_args({"operator": {"serviceAddress": "cluster-ip"}})
    # A FraudModel of the chart can place its scoring pods (the CRD's spec.scheduling, checked by the schema too)
    placed = {**MODEL, "scheduling": {"nodeSelector": {"pool": "scoring"}, "tolerations": [{"key": "scoring"}]}}
    assert template_values(stack_settings, {"fraudModels": [placed]}).returncode == 0
    wrong = {**MODEL, "scheduling": {"tolerations": [{"effect": "Sometimes"}]}}
    assert "effect" in template_values(stack_settings, {"fraudModels": [wrong]}).stderr
