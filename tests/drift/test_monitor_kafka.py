"""The monitor against the real local Kafka: replayed transactions + delayed labels + the job's score
records (built by the job's own ``score_record``) → label quality, shadow comparison, drift, trigger.

Given a replay with its labels 1 s later and scores from two model versions (stable + shadow),
when the monitor consumes them, then the label gauges match the labels, the shadow comparison sees
both versions, and Evidently's drift share (and the trigger) follow the stream: a feature-shifted
stream fires the retraining trigger, an unshifted one does not.
"""

from __future__ import annotations

import json
import random
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lfd.contract import FEATURES
from lfd.drift.gauges import Gauges
from lfd.drift.monitor import Monitor, MonitorConfig, Topics, run
from lfd.drift.replay import send
from lfd.drift.shift import Shift, apply
from lfd.drift.trigger import Policy
from lfd.streaming.produce import load_rows
from lfd.streaming.records import dumps, score_record
from lfd_dev.components.kafka import ensure_topics
from lfd_dev.settings import Settings

pytestmark = pytest.mark.integration
#: The fake model's weighted PR-AUC on these 1,500 real rows (18 frauds) is 0.78: its "held-out" figure.
BASELINE = 0.78


def fake_score(features: dict[str, float]) -> float:
    return float(1.0 / (1.0 + np.exp(3.0 + features["V14"] + features["V17"])))


@dataclass
class FakeChampion:  # what load_champion returns, without a registry: the reference is real dev rows
    name: str
    version: str
    reference: pd.DataFrame
    reference_scores: Any
    pr_auc_weighted: float | None


def _produce_scores(bootstrap: str, topics: Topics, replayed: list[Any]) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap})
    for row in replayed:
        p = fake_score(row.features)
        for version, topic, shadow, q in (
            ("7", topics.scores, False, p),
            ("8", topics.shadow, True, min(1.0, p * 1.1)),
        ):
            result = {
                "id": row.id,
                "reasons": [],
                "fraud_probability": q,
                "decision": "fraud" if q >= 0.5 else "legit",
                "model": {"name": "fraud-detector", "version": version},
            }
            record = score_record(result, event_ms=0, scored_ms=1, scoring_ms=0.5, shadow=shadow)
            producer.produce(topic, key=row.id.encode(), value=dumps(record).encode())
    producer.produce(topics.scores, value=b"{not json")  # a bad record is counted, never fatal
    assert producer.flush(30) == 0


def _monitor(kafka: str, settings: Settings, shift: str, flip_share: float = 0.0) -> tuple[Monitor, Gauges]:
    suffix = uuid.uuid4().hex[:6]
    topics = Topics(f"tx-{suffix}", f"scores-{suffix}", f"shadow-{suffix}", f"labels-{suffix}")
    ensure_topics(settings, dict.fromkeys(topics.__dict__.values(), 2))  # the broker does not auto-create
    rows = load_rows()
    # One shuffled pool for the reference and the stream: the dev file's segments come from different
    # periods (rows 5000-6500 against rows 0-4000 in file order: 83% of features "drift").
    random.Random(7).shuffle(rows)
    picked = [(r.features, r.fraud) for r in rows[4000:5500]]
    replayed = list(apply(picked, f"mt-{suffix}", Shift(shift, after=0, label_flip_share=flip_share)))  # type: ignore[arg-type]
    send(kafka, replayed, transactions_topic=topics.transactions, labels_topic=topics.labels, rate=0, label_delay_s=1.0)
    _produce_scores(kafka, topics, replayed)
    reference = pd.DataFrame([r.features for r in rows[:4000]])[list(FEATURES)]
    champion = FakeChampion(
        "fraud-detector", "7", reference, [fake_score(f) for f in reference.to_dict("records")], BASELINE
    )
    config = MonitorConfig(
        bootstrap=kafka,
        topics=topics,
        group=f"lfd-monitor-{suffix}",
        drift_window=1500,
        drift_every_s=1.0,
        evaluate_every_s=1.0,
        log_to_mlflow=False,
        report_dir=Path(tempfile.mkdtemp(prefix="lfd-monitor-test-")),  # never into the repository
        policy=Policy(consecutive=2, cooldown_s=3600),
    )
    gauges = Gauges()
    return Monitor(config, gauges, champion, baselines=lambda _n, vs: dict.fromkeys(vs, BASELINE)), gauges


def _consume(monitor: Monitor, until: Any, seconds: float = 600) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(monitor, stop), daemon=True)
    thread.start()
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and not until():
            time.sleep(1)
    finally:
        stop.set()
        thread.join(30)


def _value(gauges: Gauges, name: str, **labels: str) -> float | None:
    value = gauges.registry.get_sample_value(name, labels)
    return None if value is None else float(value)


def test_feature_shift_raises_drift_and_fires_the_trigger(kafka: str, stack_settings: Settings) -> None:
    monitor, gauges = _monitor(kafka, stack_settings, "features")
    # The trigger may fire before the last labels are joined: wait for both.
    _consume(
        monitor,
        lambda: (
            len(monitor.decisions) > 0 and _value(gauges, "lfd_label_window_transactions", model_version="7") == 1500
        ),
    )
    assert _value(gauges, "lfd_label_window_transactions", model_version="7") == 1500
    frauds = _value(gauges, "lfd_label_window_frauds", model_version="7")
    assert frauds is not None and frauds > 0
    assert _value(gauges, "lfd_shadow_transactions", champion_version="7", challenger_version="8") == 1500
    share = _value(gauges, "lfd_drift_share_drifted_features", model_version="7")
    assert share is not None and share >= 12 / 29
    assert monitor.decisions and "drift share" in monitor.decisions[0]
    assert _value(gauges, "lfd_monitor_records_total", topic=monitor.config.topics.scores, result="rejected") == 1
    assert _value(gauges, "lfd_retrain_runs_total", reason="drift") == 1


def test_label_only_decay_fires_on_labels_without_feature_drift(kafka: str, stack_settings: Settings) -> None:
    monitor, gauges = _monitor(
        kafka, stack_settings, "labels", flip_share=0.05
    )  # ~70 legitimate rows turn out to be fraud
    _consume(monitor, lambda: len(monitor.decisions) > 0)
    assert monitor.decisions and "label PR-AUC" in monitor.decisions[0]
    assert "drift share" not in monitor.decisions[0]
    pr_auc = _value(gauges, "lfd_label_pr_auc_weighted", model_version="7")
    assert pr_auc is not None and pr_auc < BASELINE - 0.15
    assert _value(gauges, "lfd_retrain_runs_total", reason="labels") == 1


def test_unshifted_stream_fires_nothing(kafka: str, stack_settings: Settings) -> None:
    monitor, gauges = _monitor(kafka, stack_settings, "none")
    _consume(
        monitor,
        lambda: (
            _value(gauges, "lfd_drift_share_drifted_features", model_version="7") is not None
            and monitor.state.breaches == 0
            and _value(gauges, "lfd_label_window_transactions", model_version="7") == 1500
        ),
    )
    _consume(monitor, lambda: False, seconds=5)  # a few more evaluations
    share = _value(gauges, "lfd_drift_share_drifted_features", model_version="7")
    assert share is not None and share < 0.3
    assert monitor.decisions == []
    pr_auc = _value(gauges, "lfd_label_pr_auc_weighted", model_version="7")
    assert pr_auc is not None and pr_auc > 0.3  # a real signal: V14 and V17 separate frauds
    assert json.dumps(monitor.signals.__dict__)  # plain numbers
