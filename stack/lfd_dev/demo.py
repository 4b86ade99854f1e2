"""`make demo`: the main job, end to end on the local stack, printing where to look.

stack healthy → a champion model in the registry (trained and promoted if absent) → the scoring service
(HTTP + gRPC) → one scored transaction with its reason codes → the PyFlink job → real transactions
(with a few malformed ones) produced into Kafka → live counts of scores, alerts and dead letters until
every produced record is accounted for. The scoring service and the Flink job keep running afterwards
(`make down` stops them with the stack).
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lfd.constants import MODEL_NAME
from lfd.response import SCORE_PATH, ScoreResult, build_request, results_for
from lfd.streaming.config import DEFAULT_TOPICS
from lfd_dev import manager, process
from lfd_dev.components.prometheus import register_target
from lfd_dev.settings import Settings, load_settings
from lfd_dev.stack_cli import env_exports
from lfd_dev.steps import run_steps

HTTP_PORT = int(os.environ.get("LFD_DEMO_HTTP_PORT", "3000"))
GRPC_PORT = int(os.environ.get("LFD_DEMO_GRPC_PORT", "8001"))
DEMO_COUNT = int(os.environ.get("LFD_DEMO_COUNT", "3000"))
SCORES, ALERTS, DLQ = DEFAULT_TOPICS["scores_topic"], DEFAULT_TOPICS["alerts_topic"], DEFAULT_TOPICS["dlq_topic"]
DEMO_RATE = int(os.environ.get("LFD_DEMO_RATE", "300"))
#: The dev file's own fraud share (331 of 25,918). Sampled, not replayed in file order: the file's first 3,000
#: rows hold no fraud at all, and a demo without a single alert shows nothing of the alert path.
DEMO_FRAUD_RATIO = float(os.environ.get("LFD_DEMO_FRAUD_RATIO", "0.0128"))
TRAIN_BUDGET_S = os.environ.get("LFD_DEMO_TRAIN_BUDGET", "90")


@dataclass
class Demo:
    settings: Settings
    run_id: str = field(default_factory=lambda: f"demo-{int(time.time())}")
    started_ms: int = field(default_factory=lambda: int(time.time() * 1000))

    @property
    def lfd(self) -> str:
        return str(self.settings.repo / ".venv" / "bin" / "lfd")

    @property
    def scoring_url(self) -> str:
        return f"http://127.0.0.1:{HTTP_PORT}"

    def run(self, *args: str) -> None:
        import subprocess

        env = {**os.environ, "MLFLOW_TRACKING_URI": self.settings.mlflow_uri}
        result = subprocess.run([self.lfd, *args], env=env)
        if result.returncode != 0:
            raise RuntimeError(f"`lfd {' '.join(args)}` failed with exit code {result.returncode}")

    def spawn(self, name: str, *args: str) -> None:
        pid_file = self.settings.pids / f"{name}.pid"
        if process.read_pid(pid_file) is not None:
            return
        env = {"MLFLOW_TRACKING_URI": self.settings.mlflow_uri}
        process.spawn(name, [self.lfd, *args], pid_file=pid_file, log_file=self.settings.logs / f"{name}.log", env=env)


def stack_alive(demo: Demo) -> str:
    statuses = manager.status(demo.settings)
    unhealthy = [s.name for s in statuses if not s.health.healthy]
    if unhealthy:
        raise RuntimeError(f"unhealthy components: {', '.join(unhealthy)} (see {demo.settings.logs})")
    return "\n".join(f"    {s.name:<24} {s.health.detail}" for s in statuses)


def ensure_champion(demo: Demo) -> str:
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient(demo.settings.mlflow_uri)
    try:
        version = client.get_model_version_by_alias(MODEL_NAME, "champion")
        return f"    {MODEL_NAME}@champion = version {version.version} (already registered; `make train` retrains)"
    except MlflowException:
        pass
    print(f"    no {MODEL_NAME}@champion yet: training with a {TRAIN_BUDGET_S}s tuning budget", flush=True)
    demo.run("train", "--time-budget", TRAIN_BUDGET_S)
    demo.run("promote")
    version = client.get_model_version_by_alias(MODEL_NAME, "champion")
    return f"    trained, registered and promoted {MODEL_NAME}@champion = version {version.version}"


def _get_json(url: str, body: Any | None = None, timeout: float = 5.0) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        return json.load(resp)


def start_scoring(demo: Demo) -> str:
    demo.spawn(
        "scoring",
        "serve",
        "--model-uri",
        f"models:/{MODEL_NAME}@champion",
        "--http-port",
        str(HTTP_PORT),
        "--grpc-port",
        str(GRPC_PORT),
        "--host",
        "127.0.0.1",
    )

    def ready() -> bool:
        try:
            _get_json(f"{demo.scoring_url}/v2/health/ready")
            return True
        except OSError:
            return False

    process.wait_until(
        ready,
        what="scoring service",
        timeout=420,
        pid_file=demo.settings.pids / "scoring.pid",
        log_file=demo.settings.logs / "scoring.log",
        interval=1,
    )
    # Let the local Prometheus scrape it, labelled like a FraudModel's pods would be.
    register_target(demo.settings, "scoring-demo", f"127.0.0.1:{HTTP_PORT}", {"fraudmodel": "demo", "colour": "local"})
    return (
        f"    HTTP {demo.scoring_url} (POST /score, /v2/..., /metrics, OpenAPI at /)\n"
        f"    gRPC 127.0.0.1:{GRPC_PORT} (inference.GRPCInferenceService)"
    )


def score_example(demo: Demo) -> str:
    from lfd.streaming.produce import load_rows

    fraud = next(r for r in load_rows() if r.fraud)
    answer = _get_json(f"{demo.scoring_url}{SCORE_PATH}", build_request([{"id": "demo-example", **fraud.features}]))
    return describe_result(results_for(["demo-example"], answer)[0])


def describe_result(result: ScoreResult) -> str:
    reasons = ", ".join(f"{r['feature']}={r['value']:.2f} ({r['contribution']:+.2f})" for r in result["reasons"])
    return (
        f"    a real fraud from the dev data: probability {result['fraud_probability']:.3f} → {result['decision']} "
        f"(model {result['model']['name']} v{result['model']['version']})\n    top reasons: {reasons}"
    )


def start_stream(demo: Demo) -> str:
    checkpoints = demo.settings.state / "flink" / "checkpoints"
    demo.spawn(
        "streaming",
        "stream",
        "--scoring-url",
        demo.scoring_url,
        "--checkpoint-dir",
        str(checkpoints),
        "--checkpoint-interval-ms",
        "2000",
    )
    time.sleep(5)
    if process.read_pid(demo.settings.pids / "streaming.pid") is None:
        raise RuntimeError(f"the Flink job exited; see {demo.settings.logs / 'streaming.log'}")
    return f"    PyFlink MiniCluster running lfd.streaming.job; checkpoints in {checkpoints}"


def produce(demo: Demo) -> str:
    demo.run(
        "produce",
        "--count",
        str(DEMO_COUNT),
        "--rate",
        str(DEMO_RATE),
        "--fraud-ratio",
        str(DEMO_FRAUD_RATIO),
        "--malformed-share",
        "0.01",
        "--run-id",
        demo.run_id,
    )
    return (
        f"    {DEMO_COUNT} real transactions sampled at the data's fraud share ({DEMO_FRAUD_RATIO:.2%}), "
        f"1% malformed on purpose, with ids {demo.run_id}-*"
    )


def live_counts(demo: Demo) -> str:
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": demo.settings.kafka_bootstrap,
            "group.id": f"{demo.run_id}-watch",
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([SCORES, ALERTS, DLQ])
    counts = {SCORES: 0, ALERTS: 0, DLQ: 0}
    deadline = time.monotonic() + 600
    last_print = 0.0
    try:
        while time.monotonic() < deadline and counts[SCORES] + counts[DLQ] < DEMO_COUNT:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                topic = str(msg.topic())
                if topic in counts and _belongs_to_run(demo, topic, msg.value()):
                    counts[topic] += 1
            if time.monotonic() - last_print > 2:
                last_print = time.monotonic()
                print(
                    f"    {SCORES} {counts[SCORES]:>6}   {ALERTS} {counts[ALERTS]:>5}   "
                    f"dead letters {counts[DLQ]:>4}   of {DEMO_COUNT} produced",
                    flush=True,
                )
    finally:
        consumer.close()
    total = counts[SCORES] + counts[DLQ]
    if total < DEMO_COUNT:
        raise RuntimeError(f"only {total} of {DEMO_COUNT} records came out; see {demo.settings.logs / 'streaming.log'}")
    return (
        f"    all {DEMO_COUNT} accounted for: {counts[SCORES]} scored, {counts[ALERTS]} fraud alerts, "
        f"{counts[DLQ]} dead letters (read_committed)"
    )


def _belongs_to_run(demo: Demo, topic: str, value: bytes | None) -> bool:
    try:
        record = json.loads(value or b"null")
    except ValueError:
        return False
    if topic == DLQ:
        return int(record.get("dlq_time_ms") or 0) >= demo.started_ms
    return str(record.get("id", "")).startswith(f"{demo.run_id}-")


STEPS: list[tuple[str, Callable[[Demo], str]]] = [
    ("stack components healthy", stack_alive),
    ("champion model in the MLflow registry", ensure_champion),
    ("scoring service: HTTP and gRPC from one process", start_scoring),
    ("one transaction scored, with reason codes", score_example),
    ("PyFlink job: transactions → scores / fraud-alerts / transactions-dlq, exactly once", start_stream),
    ("producer: real ULB transactions into Kafka", produce),
    ("live counts (read_committed)", live_counts),
]


def main() -> int:
    settings = load_settings()
    demo = Demo(settings)
    took = run_steps("demo", demo, STEPS)
    if took is None:
        return 1
    print(f"\ndemo finished in {took:.0f}s. Where to look:")
    print(f"  MLflow UI        {settings.mlflow_uri}  (experiment fraud-detector, model {MODEL_NAME})")
    print(f"  scoring          curl -s {demo.scoring_url}/v2/models/{MODEL_NAME}  ·  {demo.scoring_url}/metrics")
    print(f"  Prometheus       {settings.prometheus_url}/graph?g0.expr=lfd:scoring_latency_p99_seconds:rate1m")
    print(f"  Kafka topics     {', '.join(DEFAULT_TOPICS.values())} at {settings.kafka_bootstrap}")
    print(f"  kubectl          KUBECONFIG={settings.kubeconfig} {settings.tool('kubectl')} get nodes")
    print(f"  logs             {settings.logs}")
    print("  stop everything  make down\n")
    print(env_exports(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
