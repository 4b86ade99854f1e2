"""The whole loop on the local stack: a shifted stream → gauge up → retraining run in MLflow → ``@challenger``
registered → FraudModel updated → blue-green rollout judged by the operator's gates; an unshifted stream over
the same rows fires nothing.

Real components: Kafka (transactions, scores, delayed labels), MLflow (champion trained and registered here,
the retrain's run and registration), the API server + kwok (FraudModel, Deployments, Events), the operator
as a subprocess, ``lfd serve --model-uri models:/...`` processes standing in for the pods (the operator's test
harness maps each Deployment to one), Prometheus (post-promotion SLO). Not started, to keep the test bounded:
the Flink job. The ``scores`` records it would write are built with the job's own ``score_record`` from the
champion bundle's own probabilities.

Which rows. The dev file is made of segments from different periods: in file order, later rows "drift" on
83% of the features with no shift applied (Evidently on rows 5000-6500 vs 0-4000). A no-fire case on such
rows would fire, and a fire case would fire for the wrong reason. So every row here comes from ONE shuffled
pool (seed 7): the champion trains on pool rows 0-12,000 (its reference sample is drawn from them by
``lfd train``), the stream is pool rows 14,000-16,000 (26 frauds), the same rows in all three cases. Measured on
these rows (stratified split): held-out weighted PR-AUC 0.85; the stream's label PR-AUC 0.90 unshifted, the
seven 2,000-row windows of the rest of the pool between 0.75 and 0.90, i.e. never 0.15 under the held-out
figure, so the default policy's label trigger stays quiet without a shift.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pandas as pd
import pytest
from mlflow import MlflowClient

from lfd.contract import FEATURES, LABELLED_COLUMNS
from lfd.drift.champion import Champion, load_champion
from lfd.drift.gauges import Gauges
from lfd.drift.monitor import Monitor, MonitorConfig, Topics, run
from lfd.drift.replay import send
from lfd.drift.retrain import REASON_ANNOTATION, RUN_ANNOTATION, RetrainConfig
from lfd.drift.shift import Labelled, Shift, ShiftKind, apply
from lfd.response import ScoreResult
from lfd.streaming.records import dumps, score_record
from lfd.training.data import DEFAULT_DATA, load_labelled
from lfd.training.pipeline import run as train
from lfd.training.register import promote
from lfd.training.report import TrainConfig
from lfd_dev.components.kafka import ensure_topics
from lfd_dev.scoring_process import ScoringProcess
from lfd_dev.settings import Settings
from tests.conftest import Cluster
from tests.operator.conftest import Kubectl
from tests.operator.harness import OperatorProcess, PodSimulator, wait_for
from tests.operator.test_e2e_rollout import fast

#: Each case trains a model, runs Evidently twice and rolls out through the operator: minutes on a quiet
#: machine, many more on a loaded one (Evidently alone took 4 min at load 28 on 2 cores), hence the bound.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

POOL_SEED = 7
CHAMPION_ROWS = slice(0, 12_000)
STREAM_ROWS = slice(14_000, 16_000)
LABEL_FLIP_SHARE = 0.05  # label-only decay: ~100 legitimate rows of the stream turn out to be fraud
EXPERIMENT = "fraud-detector-tests"
DRIFT_WINDOW = 1000  # newest scored transactions per Evidently check (the label window holds all 2,000)


@dataclass(frozen=True)
class Rows:
    champion_csv: Path  # what the champion learnt from; the retrain's reference data too
    stream: list[tuple[dict[str, float], bool]]


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> Rows:
    frame = load_labelled(DEFAULT_DATA)
    order = list(range(len(frame)))
    random.Random(POOL_SEED).shuffle(order)
    pool = frame.iloc[order].reset_index(drop=True)
    path = tmp_path_factory.mktemp("loop") / "champion-rows.csv"
    pool.iloc[CHAMPION_ROWS][list(LABELLED_COLUMNS)].to_csv(path, index=False)
    stream = pool.iloc[STREAM_ROWS]
    features = stream[list(FEATURES)].to_dict("records")
    return Rows(path, [(f, bool(c)) for f, c in zip(features, stream["Class"], strict=True)])


@pytest.fixture(scope="module")
def model_name(mlflow_server: str, rows: Rows) -> Iterator[str]:
    """A champion trained and registered here (xgboost, one trial: seconds, not minutes), then promoted."""
    name = f"fraud-detector-loop-{uuid.uuid4().hex[:8]}"
    report = train(
        TrainConfig(
            data=rows.champion_csv,
            time_budget=6,
            max_trials=1,
            families=("xgboost",),
            split_method="stratified",  # held-out rows from the same pool as the stream (see the docstring)
            tracking_uri=mlflow_server,
            model_name=name,
            experiment=EXPERIMENT,
            show_progress=False,
        )
    )
    assert report.registered_version == "1", report.registration_refused
    promote(name, "1")
    yield name
    MlflowClient().delete_registered_model(name)


class RegistryPool:
    """One real ``lfd serve --model-uri`` per registry URI, started the first time a Deployment asks for it."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.processes: dict[str, ScoringProcess] = {}
        self.ready: set[str] = set()
        self.errors: list[str] = []
        self._lock = threading.Lock()

    def for_bundle(self, bundle: str) -> ScoringProcess | None:
        with self._lock:
            if bundle not in self.processes:
                log = self.logs / f"serve-{bundle.replace('/', '_').replace(':', '')}.log"
                self.processes[bundle] = ScoringProcess(["--model-uri", bundle], log)
                threading.Thread(target=self._start, args=(bundle,), daemon=True).start()
            return self.processes[bundle] if bundle in self.ready else None

    def _start(self, uri: str) -> None:
        try:
            self.processes[uri].start_ready(timeout_s=240, port_retries=2)
            self.ready.add(uri)
        except Exception as e:  # the test fails on its wait, with this in its message
            self.errors.append(f"{uri}: {e}")

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()


@pytest.fixture(scope="module")
def registry_pool(mlflow_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryPool]:
    pool = RegistryPool(tmp_path_factory.mktemp("serve-logs"))  # the processes inherit MLFLOW_TRACKING_URI
    yield pool
    pool.stop()


@dataclass
class Stage:
    """One case's FraudModel, operator and simulated pods in a fresh namespace."""

    kubectl: Kubectl
    namespace: str
    simulator: PodSimulator | None = None
    operator: OperatorProcess | None = None

    def fraudmodel(self) -> dict[str, Any]:
        out = self.kubectl("get", "fraudmodel", "fm", "-n", self.namespace, "-o", "json", check=True).stdout
        body: dict[str, Any] = json.loads(out)
        return body

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = self.fraudmodel().get("status") or {}
        return status

    def events(self) -> list[dict[str, Any]]:
        out = self.kubectl("get", "events", "-n", self.namespace, "-o", "json", check=True).stdout
        items: list[dict[str, Any]] = json.loads(out)["items"]
        return items

    def stop(self) -> None:
        if self.operator:
            self.operator.stop()
        if self.simulator:
            self.simulator.stop()


def _stage(
    kubectl: Kubectl,
    namespace: str,
    model: str,
    with_operator: bool,
    settings: Settings | None = None,
    cluster: Cluster | None = None,
    pool: RegistryPool | None = None,
    prometheus: str = "",
    logs: Path | None = None,
) -> Stage:
    stage = Stage(kubectl, namespace)
    manifest = {
        "apiVersion": "ml.livefraud.io/v1alpha1",
        "kind": "FraudModel",
        "metadata": {"name": "fm", "namespace": namespace},
        "spec": {
            "model": {"name": model, "version": "1"},
            "autoscaling": {"minReplicas": 1, "maxReplicas": 2},
            **fast(),
        },
    }
    kubectl("apply", "-f", "-", input_text=json.dumps(manifest), check=True)
    if with_operator:
        assert settings and cluster and pool and logs
        stage.simulator = PodSimulator(kubectl, namespace, pool, settings, logs / "service-map.json").start()
        stage.operator = OperatorProcess(
            cluster.env, namespace, stage.simulator.service_map, prometheus, logs / "op.log"
        )
        stage.operator.start()
        try:
            wait_for(
                lambda: stage.status().get("phase") == "Healthy" or pool.errors,
                240,
                "the champion (version 1) Healthy on blue",
            )
            assert not pool.errors, pool.errors
        except BaseException:
            stage.stop()
            raise
    return stage


def _stream(kafka: str, settings: Settings, rows: Rows, champion: Champion, kind: ShiftKind) -> Topics:
    """The stream into fresh topics: transactions, their labels 1 s later, and the champion's score records."""
    from confluent_kafka import Producer

    suffix = uuid.uuid4().hex[:6]
    topics = Topics(f"tx-{suffix}", f"scores-{suffix}", f"shadow-{suffix}", f"labels-{suffix}")
    ensure_topics(settings, dict.fromkeys(topics.__dict__.values(), 1))
    shift = Shift(kind, after=0, label_flip_share=LABEL_FLIP_SHARE)
    replayed: list[Labelled] = list(apply(rows.stream, f"loop-{suffix}", shift))
    send(kafka, replayed, transactions_topic=topics.transactions, labels_topic=topics.labels, rate=0, label_delay_s=1)
    frame = pd.DataFrame([r.features for r in replayed])[list(FEATURES)]
    probabilities = champion.bundle.predict_proba(frame)
    threshold = champion.bundle.metadata.threshold
    producer = Producer({"bootstrap.servers": kafka})
    for row, p in zip(replayed, probabilities, strict=True):
        result = {
            "id": row.id,
            "reasons": [],
            "fraud_probability": float(p),
            "decision": "fraud" if p >= threshold else "legit",
            "model": {"name": champion.name, "version": champion.version},
        }
        record = score_record(cast(ScoreResult, result), event_ms=0, scored_ms=1, scoring_ms=0.5, shadow=False)
        producer.produce(topics.scores, key=row.id.encode(), value=dumps(record).encode())
    assert producer.flush(30) == 0
    return topics


def _monitor(
    kafka: str, topics: Topics, champion: Champion, retrain: RetrainConfig, tmp_path: Path
) -> tuple[Monitor, Gauges]:
    config = MonitorConfig(
        bootstrap=kafka,
        model_name=champion.name,
        topics=topics,
        group=f"lfd-monitor-{uuid.uuid4().hex[:6]}",
        drift_window=DRIFT_WINDOW,
        drift_every_s=2.0,
        evaluate_every_s=1.0,
        report_dir=tmp_path / "reports",
        log_to_mlflow=True,
        retrain=retrain,
    )  # the default Policy: drift on 0.3 / off 0.15, decay on 0.15 / off 0.07, 2 breaches in a row, 1 h cooldown
    config.report_dir.mkdir(parents=True, exist_ok=True)
    gauges = Gauges()
    return Monitor(config, gauges, champion), gauges


def _watch(monitor: Monitor, until: Callable[[], bool], seconds: float) -> float:
    """Run the monitor on its Kafka topics until ``until()`` (or ``seconds``); returns the seconds it ran."""
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(monitor, stop), daemon=True)
    began = time.monotonic()
    thread.start()
    try:
        while time.monotonic() - began < seconds and not until():
            time.sleep(1)
    finally:
        stop.set()
        thread.join(30)
    return time.monotonic() - began


def _value(gauges: Gauges, name: str, **labels: str) -> float | None:
    value = gauges.registry.get_sample_value(name, labels)
    return None if value is None else float(value)


def _retrain_config(mlflow_server: str, rows: Rows, model: str, namespace: str, cluster: Cluster) -> RetrainConfig:
    return RetrainConfig(
        tracking_uri=mlflow_server,
        reference_data=rows.champion_csv,
        time_budget=6,
        max_trials=1,
        families=("xgboost",),
        model_name=model,
        experiment=EXPERIMENT,
        namespace=namespace,
        fraudmodel="fm",
        kubeconfig=cluster.kubeconfig,
    )


@dataclass(frozen=True)
class World:
    """The live stack, a fresh namespace and this module's champion and rows: what every loop test starts from."""

    kafka: str
    mlflow_server: str
    kubernetes: Cluster
    settings: Settings
    prometheus: str
    kubectl: Kubectl
    namespace: str
    model_name: str
    rows: Rows
    registry_pool: RegistryPool


@pytest.fixture
def world(
    kafka: str,
    mlflow_server: str,
    kubernetes: Cluster,
    stack_settings: Settings,
    prometheus: str,
    kubectl: Kubectl,
    namespace: str,
    model_name: str,
    rows: Rows,
    registry_pool: RegistryPool,
) -> World:
    return World(
        kafka,
        mlflow_server,
        kubernetes,
        stack_settings,
        prometheus,
        kubectl,
        namespace,
        model_name,
        rows,
        registry_pool,
    )


def _loop(kind: ShiftKind, w: World, tmp_path: Path) -> tuple[Stage, Monitor, Gauges]:
    """Given the champion (version 1) serving on blue, When the ``kind``-shifted stream reaches the monitor,
    Then it retrains: returns once the retrain finished (or failed)."""
    stage = _stage(
        w.kubectl, w.namespace, w.model_name, True, w.settings, w.kubernetes, w.registry_pool, w.prometheus, tmp_path
    )
    try:
        champion = load_champion(w.model_name)
        topics = _stream(w.kafka, w.settings, w.rows, champion, kind)
        config = _retrain_config(w.mlflow_server, w.rows, w.model_name, w.namespace, w.kubernetes)
        monitor, gauges = _monitor(w.kafka, topics, champion, config, tmp_path)
        _watch(monitor, lambda: bool(monitor.retrains or monitor.retrain_errors), 600)
        assert monitor.retrain_errors == [], monitor.retrain_errors
        assert len(monitor.decisions) == 1 and len(monitor.retrains) == 1, monitor.decisions
    except BaseException:
        stage.stop()
        raise
    return stage, monitor, gauges


def _then_registered_updated_and_rolled_out(
    stage: Stage, monitor: Monitor, model_name: str, mlflow_server: str, registry_pool: RegistryPool
) -> None:
    result = monitor.retrains[0]
    # Then a retraining run in MLflow registered the new version as @challenger
    client = MlflowClient()
    run = client.get_run(result.run_id)
    assert run.data.tags["lfd.registered_version"] == result.version
    assert client.get_model_version_by_alias(model_name, "challenger").version == result.version
    assert client.get_model_version_by_alias(model_name, "champion").version == "1"
    # And the FraudModel now asks for that version, with the run linked and an Event
    fm = stage.fraudmodel()
    assert fm["spec"]["model"] == {"name": model_name, "version": result.version}
    annotations = fm["metadata"]["annotations"]
    assert annotations[RUN_ANNOTATION] == result.run_url and result.run_url.startswith(mlflow_server)
    assert annotations[REASON_ANNOTATION] == monitor.decisions[0]
    assert any(e["reason"] == "RetrainRegistered" and result.version in e["message"] for e in stage.events())
    # And the operator rolls it out blue-green: previewed on green, judged by the gates, switched to
    assert stage.simulator is not None
    stage.simulator.traffic = True
    status = wait_for(
        lambda: (s := stage.status()).get("phase") == "Healthy" and s.get("activeRevision") == 2 and s,
        300,
        f"revision 2 Healthy ({registry_pool.errors})",
    )
    assert status["activeColour"] == "green" and status["activeVersion"] == result.version
    runs = {r["kind"]: r for r in status["analysis"]}
    assert runs["pre"]["result"] == "Passed" and "PR-AUC" in runs["pre"]["message"], runs["pre"]
    assert runs["post"]["result"] == "Passed", runs["post"]


def test_feature_drift_retrains_registers_and_rolls_out(world: World, tmp_path: Path) -> None:
    # Given the champion on blue, When V1..V12 of every streamed transaction are shifted
    stage, monitor, gauges = _loop("features", world, tmp_path)
    try:
        # Then the drift gauge rose past the trigger's on level and the trigger fired on drift
        share = _value(gauges, "lfd_drift_share_drifted_features", model_version="1")
        assert share is not None and share >= 0.3
        assert "drift share" in monitor.decisions[0]
        assert _value(gauges, "lfd_retrain_runs_total", reason="drift") == 1
        _then_registered_updated_and_rolled_out(
            stage, monitor, world.model_name, world.mlflow_server, world.registry_pool
        )
    finally:
        stage.stop()


def test_label_only_decay_retrains_registers_and_rolls_out(world: World, tmp_path: Path) -> None:
    # Given the champion on blue, When the features stay as they are but 5% of legitimate rows turn out fraud
    stage, monitor, gauges = _loop("labels", world, tmp_path)
    try:
        # Then only the labels showed it: label PR-AUC fell 0.15+ under the held-out figure, features did not drift
        pr_auc = _value(gauges, "lfd_label_pr_auc_weighted", model_version="1")
        baseline = _value(gauges, "lfd_label_pr_auc_baseline", model_version="1")
        assert pr_auc is not None and baseline is not None and pr_auc <= baseline - 0.15
        share = _value(gauges, "lfd_drift_share_drifted_features", model_version="1")
        assert share is not None and share < 0.3
        assert "label PR-AUC" in monitor.decisions[0] and "drift share" not in monitor.decisions[0]
        _then_registered_updated_and_rolled_out(
            stage, monitor, world.model_name, world.mlflow_server, world.registry_pool
        )
    finally:
        stage.stop()


def test_unshifted_stream_fires_nothing(world: World, tmp_path: Path) -> None:
    kafka, mlflow_server, kubernetes, kubectl = world.kafka, world.mlflow_server, world.kubernetes, world.kubectl
    namespace, model_name, rows, stack_settings = world.namespace, world.model_name, world.rows, world.settings
    # Given the champion and its FraudModel (no operator needed: nothing should touch it)
    stage = _stage(kubectl, namespace, model_name, False)
    versions_before = {v.version for v in MlflowClient().search_model_versions(f"name='{model_name}'")}
    champion = load_champion(model_name)
    topics = _stream(kafka, stack_settings, rows, champion, "none")
    monitor, gauges = _monitor(
        kafka, topics, champion, _retrain_config(mlflow_server, rows, model_name, namespace, kubernetes), tmp_path
    )
    # When the same rows arrive unshifted and the monitor watches every label and several drift checks
    # (the shifted cases fire on their 2nd check), and some seconds more
    _watch(
        monitor,
        lambda: (
            _value(gauges, "lfd_label_window_transactions", model_version="1") == len(rows.stream)
            and monitor.quality_logs >= 3
        ),
        600,
    )
    _watch(monitor, lambda: False, 10)
    # Then the gauges are real and quiet, nothing fired, nothing was registered, the FraudModel is untouched
    share = _value(gauges, "lfd_drift_share_drifted_features", model_version="1")
    assert share is not None and share < 0.15
    pr_auc = _value(gauges, "lfd_label_pr_auc_weighted", model_version="1")
    baseline = _value(gauges, "lfd_label_pr_auc_baseline", model_version="1")
    assert pr_auc is not None and baseline is not None and pr_auc > baseline - 0.07
    assert monitor.decisions == [] and monitor.retrains == [] and monitor.retrain_errors == []
    assert _value(gauges, "lfd_retrain_trigger_breaches") == 0
    assert {v.version for v in MlflowClient().search_model_versions(f"name='{model_name}'")} == versions_before
    fm = stage.fraudmodel()
    assert fm["metadata"]["generation"] == 1 and RUN_ANNOTATION not in (fm["metadata"].get("annotations") or {})
    assert not [e for e in stage.events() if e["reason"] == "RetrainRegistered"]
