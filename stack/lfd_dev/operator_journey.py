"""The operator's blue-green journey on the real node, in parts shared by its test and `make demo`.

Everything here drives real components: MLflow (model versions, the replay set), helm (our chart, the operator
as a pod), kubectl (FraudModels, the ``kubectl fraudmodel`` plugin) and HTTP to a Service's ClusterIP.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from lfd.constants import DEV_DATA
from lfd.contract import EXAMPLE_TRANSACTION, FEATURES
from lfd.response import build_request
from lfd_dev import images
from lfd_dev.components import node_config
from lfd_dev.components.kubernetes import kubectl
from lfd_dev.settings import Settings
from lfd_dev.small_models import train_bundle

CHART = Path(__file__).resolve().parents[2] / "charts" / "live-fraud-detector"
#: Pods that run for real: the real node's label and taint (kwok's simulated nodes carry neither).
ON_NODE: dict[str, Any] = {
    "nodeSelector": {node_config.NODE_LABEL: "real"},
    "tolerations": [{"key": node_config.TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}],
}
#: A scoring pod downloads its model from MLflow, loads and warms it before Ready; the gates follow.
ROLLOUT_TIMEOUT_S = 600
#: The host bridge's address: pods reach MLflow and Prometheus there (components/node_api.HOST_BRIDGE).
HOST = f"http://{node_config.GATEWAY}"
#: The contract's example transaction: what the client sends through the switches.
EXAMPLE = build_request([EXAMPLE_TRANSACTION])


@dataclass(frozen=True)
class Registered:
    name: str
    #: [good, good, bad (trained on shuffled labels)]
    versions: list[str]
    #: The labelled replay set, as a path under MLflow's artifact proxy.
    replay_path: str


def register_versions(mlflow_uri: str, workdir: Path, name: str | None = None) -> Registered:
    """Three versions of a fresh registered model: two good small XGBoost models and a bad one, plus the replay
    set the quality gate reads (logged as an artifact: the operator pod reads it over HTTP, its image holds no
    data)."""
    import mlflow
    import pandas as pd

    from lfd.model_bundle import MLFLOW_ARTIFACT_KEY
    from lfd.training.pyfunc_model import FraudDetectorModel

    name = name or f"fraud-detector-node-{uuid.uuid4().hex[:6]}"
    mlflow.set_tracking_uri(mlflow_uri)
    mlflow.set_experiment("node-journey")
    example = pd.read_csv(DEV_DATA, nrows=2)[list(FEATURES)]
    with mlflow.start_run(run_name="replay-set") as run:
        mlflow.log_artifact(str(DEV_DATA), artifact_path="replay")
        replay = f"{run.info.artifact_uri.removeprefix('mlflow-artifacts:')}/replay/{DEV_DATA.name}"
    versions = []
    for label, seed, shuffled in (("good-v1", 1, False), ("good-v2", 2, False), ("bad", 3, True)):
        bundle = train_bundle(workdir / label, seed=seed, shuffle_labels=shuffled)
        with mlflow.start_run(run_name=label):
            info = mlflow.pyfunc.log_model(
                name="model", python_model=FraudDetectorModel(), artifacts={MLFLOW_ARTIFACT_KEY: str(bundle)},
                input_example=example,
            )  # fmt: skip
        versions.append(str(mlflow.register_model(info.model_uri, name).version))
    return Registered(name, versions, replay)


def chart_values(settings: Settings, registered: Registered) -> dict[str, Any]:
    """Our chart with its operator as a pod on the real node, reaching MLflow and Prometheus on the host bridge
    and addressing Services by their DNS names (the node's cluster DNS, ``components/node_dns.py``)."""
    operator = images.operator_image()
    mlflow = f"{HOST}:{settings.ports.mlflow}"
    return {
        "operator": {
            "image": {"repository": f"localhost/{operator.name}", "tag": operator.tag},
            **ON_NODE,
            "prometheusUrl": f"{HOST}:{settings.ports.prometheus}",
            "mlflowTrackingUri": mlflow,
            "replaySet": f"{mlflow}/api/2.0/mlflow-artifacts/artifacts{registered.replay_path}",
            "serviceAddress": "dns",  # the default, as in any cluster
        },
        "networkPolicy": {"enabled": False},  # the bridge CNI enforces none; say so rather than pretend
    }


def helm(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    binary = settings.tool("helm")
    return subprocess.run(
        [str(binary), f"--kubeconfig={settings.kubeconfig}", *args], capture_output=True, text=True, timeout=600
    )


def install_chart(settings: Settings, namespace: str, values: dict[str, Any], workdir: Path) -> None:
    values_file = workdir / "values.json"
    values_file.write_text(json.dumps(values))
    installed = helm(settings, "install", "lfd", str(CHART), "-n", namespace, "-f", str(values_file))
    if installed.returncode != 0:
        raise RuntimeError(f"helm install: {installed.stderr}")


def fraud_model(registered: str, version: str, name: str = "fd") -> dict[str, Any]:
    """One scoring pod per colour on the real node; fast gates that still judge real traffic."""
    return {
        "apiVersion": "ml.livefraud.io/v1alpha1",
        "kind": "FraudModel",
        "metadata": {"name": name},
        "spec": {
            "model": {"name": registered, "version": version},
            "image": images.scoring_image().ref,
            "replicas": 1,
            "autoscaling": {"enabled": False},
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "2Gi"}},
            "scheduling": ON_NODE,
            "rollout": {
                # Long enough for a rollback to find the old colour still warm.
                "scaleDownDelaySeconds": 120,
                "prePromotionAnalysis": {"quality": {"sampleSize": 1000}},
                "postPromotionAnalysis": {
                    "delaySeconds": 5,
                    "windowSeconds": 20,
                    "minRequests": 20,
                    "maxP99LatencySeconds": 1.0,  # a 2-core machine running the whole stack
                    "timeoutSeconds": 180,
                },
            },
        },
    }


def k(settings: Settings, *args: str, input_text: str | None = None) -> str:
    result = kubectl(settings, *args, input_text=input_text)
    if result.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)}: {result.stderr}")
    return result.stdout


def status(settings: Settings, namespace: str, name: str = "fd") -> dict[str, Any]:
    got: dict[str, Any] = json.loads(k(settings, "-n", namespace, "get", "fraudmodel", name, "-o", "json"))
    return dict(got.get("status", {}))


def wait(
    settings: Settings,
    namespace: str,
    what: str,
    ok: Callable[[dict[str, Any]], bool],
    on_change: Callable[[dict[str, Any]], None] | None = None,
    timeout_s: float = ROLLOUT_TIMEOUT_S,
) -> dict[str, Any]:
    """Poll the FraudModel's status until ``ok``; ``on_change`` sees each new (phase, step, colour)."""
    deadline, seen = time.monotonic() + timeout_s, None
    while True:
        current = status(settings, namespace)
        key = (current.get("phase"), current.get("currentStep"), current.get("activeColour"))
        if on_change is not None and key != seen:
            on_change(current)
            seen = key
        if ok(current):
            return current
        if time.monotonic() > deadline:
            pods = kubectl(settings, "-n", namespace, "get", "pods", "-o", "wide").stdout
            events = kubectl(settings, "-n", namespace, "get", "events", "--sort-by=.lastTimestamp").stdout
            raise TimeoutError(
                f"not {what} within {timeout_s:.0f}s; status: {json.dumps(current)}\n{pods}\n{events[-5000:]}"
            )
        time.sleep(2)


def active(colour: str, revision: int) -> Callable[[dict[str, Any]], bool]:
    """Healthy with ``revision`` on ``colour`` and its post-promotion analysis done."""
    return lambda s: (
        s.get("phase") == "Healthy"
        and s.get("activeColour") == colour
        and s.get("activeRevision") == revision
        and not s.get("postAnalysisPending")
    )


def scoring_pods(settings: Settings, namespace: str, colour: str, name: str = "fd") -> list[dict[str, Any]]:
    selector = f"ml.livefraud.io/fraudmodel={name},ml.livefraud.io/colour={colour}"
    pods: list[dict[str, Any]] = json.loads(k(settings, "-n", namespace, "get", "pods", "-l", selector, "-o", "json"))[
        "items"
    ]
    return pods


def cluster_ip(settings: Settings, namespace: str, service: str) -> str:
    return str(json.loads(k(settings, "-n", namespace, "get", "service", service, "-o", "json"))["spec"]["clusterIP"])


def plugin(settings: Settings, namespace: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`kubectl fraudmodel ...` exactly as a user runs it: kubectl finds the plugin on PATH."""
    kubectl_bin = settings.tool("kubectl")
    venv_bin = settings.repo / ".venv" / "bin"  # kubectl-fraudmodel
    env = {"PATH": f"{venv_bin}:{kubectl_bin.parent}:/usr/bin:/bin", "KUBECONFIG": str(settings.kubeconfig)}
    return subprocess.run([str(kubectl_bin), "fraudmodel", "-n", namespace, *args],
                          capture_output=True, text=True, env=env, timeout=180)  # fmt: skip


class Traffic:
    """An open-loop client: POST /score to a URL at a constant rate from the host, counting every answer.

    A Service routes connections, not requests: a keep-alive connection opened before a blue-green switch stays
    on the old colour for as long as it lives (measured: the first run of the journey test kept every request on
    blue after the switch, and the SLO gate saw "0 requests" on green). So this client, like the project's
    own (the streaming job's ``connection_max_age_s``, the gRPC server's ``max_connection_age``), re-opens its
    connection once it is ``max_age_s`` old."""

    def __init__(self, url: str, rate: float, body: dict[str, Any] | None = None, max_age_s: float = 5.0) -> None:
        self.url, self.period, self.body, self.max_age_s = url, 1.0 / rate, body or EXAMPLE, max_age_s
        self.statuses: Counter[int] = Counter()
        self.errors: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="traffic")

    def _run(self) -> None:
        next_at = time.monotonic()
        client, born = httpx.Client(timeout=5), time.monotonic()
        try:
            while not self._stop.is_set():
                if time.monotonic() - born > self.max_age_s:
                    client.close()  # between requests: nothing in flight is cut
                    client, born = httpx.Client(timeout=5), time.monotonic()
                try:
                    self.statuses[client.post(self.url, json=self.body).status_code] += 1
                except httpx.TransportError as e:
                    self.errors[type(e).__name__] += 1
                next_at += self.period
                self._stop.wait(max(0.0, next_at - time.monotonic()))
        finally:
            client.close()

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(30)

    @property
    def sent(self) -> int:
        return sum(self.statuses.values()) + sum(self.errors.values())

    @property
    def failed(self) -> int:
        return sum(n for code, n in self.statuses.items() if not 200 <= code < 300) + sum(self.errors.values())

    def summary(self) -> str:
        return f"sent {self.sent}, failed {self.failed} (statuses {dict(self.statuses)}, errors {dict(self.errors)})"
