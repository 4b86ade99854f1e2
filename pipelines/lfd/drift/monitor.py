"""`lfd monitor`: consume transactions, scores, shadow scores and delayed labels; export quality, drift
and champion-vs-challenger gauges; run Evidently every ``drift_every_s``; fire retraining (adapter).

The pure parts decide (``LabelJoin``, ``ShadowPairs``, ``trigger.decide``); this loop only moves
records between Kafka and them, publishes gauges, logs to MLflow and starts a retrain in a thread.
A record the monitor cannot read is counted (``lfd_monitor_records{result="rejected"}``) and logged
with its field and rule; it never stops the loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from lfd.contract import ContractViolation, parse_transaction
from lfd.drift import records
from lfd.drift.compare import ShadowPairs, compare
from lfd.drift.gauges import Gauges
from lfd.drift.quality import LabelJoin
from lfd.drift.trigger import Policy, Signals, State, decide
from lfd.streaming.config import DEFAULT_TOPICS

log = logging.getLogger("lfd.monitor")


@dataclass(frozen=True)
class Topics:
    transactions: str = DEFAULT_TOPICS["input_topic"]
    scores: str = DEFAULT_TOPICS["scores_topic"]
    shadow: str = DEFAULT_TOPICS["shadow_topic"]
    labels: str = records.LABELS_TOPIC


@dataclass(frozen=True)
class MonitorConfig:
    bootstrap: str
    model_name: str = "fraud-detector"
    topics: Topics = field(default_factory=Topics)
    group: str = "lfd-monitor"
    label_window: int = 5_000
    drift_window: int = 2_000  # newest scored transactions compared with the reference sample
    drift_every_s: float = 300.0
    evaluate_every_s: float = 5.0
    report_dir: Path = Path("drift-reports")
    log_to_mlflow: bool = True
    policy: Policy = field(default_factory=Policy)
    retrain: Any = None  # a lfd.drift.retrain.RetrainConfig, or None: only signal
    #: A retrain waits until this many recent transactions have their (delayed) label: drift can fire before
    #: the first chargeback arrives, and a window without labels has nothing new to learn from.
    min_retrain_rows: int = 200


class Monitor:
    def __init__(
        self,
        config: MonitorConfig,
        gauges: Gauges,
        champion: Any,
        baselines: Callable[[str, list[str]], dict[str, float]] | None = None,
    ) -> None:
        self.config = config
        self.baselines = baselines  # held-out PR-AUC per version; default: the MLflow registry's tags
        self.gauges = gauges
        self.champion = champion  # lfd.drift.champion.Champion
        self.labels = LabelJoin(window=config.label_window)
        self.shadow = ShadowPairs()
        self.transactions: OrderedDict[str, dict[str, float]] = OrderedDict()
        self.served: OrderedDict[str, float] = OrderedDict()  # primary score per id, newest last
        self.fraud: OrderedDict[str, bool] = OrderedDict()  # label per id, for retraining rows
        self.state = State()
        self.signals = Signals()
        self.last_drift = 0.0
        self.retraining: threading.Thread | None = None
        self.decisions: list[str] = []
        self.retrains: list[Any] = []  # lfd.drift.retrain.RetrainResult of each finished retrain, oldest first
        self.retrain_errors: list[str] = []
        self.pending_retrain: str | None = None  # the reason of a fired trigger still waiting for labels
        self.quality_logs = 0

    # --- records ---------------------------------------------------------------------------------

    def handle(self, topic: str, value: bytes) -> None:
        t = self.config.topics
        try:
            if topic == t.transactions:
                tx = parse_transaction(_json(value))
                self._bounded(self.transactions, tx.id, tx.as_dict())
            elif topic in (t.scores, t.shadow):
                score = records.parse_score(value)
                self.labels.add_score(score)
                self.shadow.add(score)
                if not score.shadow:
                    self._bounded(self.served, score.id, score.probability)
            elif topic == t.labels:
                label = records.parse_label(value)
                self.labels.add_label(label)
                self._bounded(self.fraud, label.id, label.fraud)
            self.gauges.consumed.labels(topic, "ok").inc()
        except (records.RecordError, ContractViolation, ValueError) as exc:
            self.gauges.consumed.labels(topic, "rejected").inc()
            log.warning("rejected a %s record: %s", topic, exc)

    def _bounded(self, store: OrderedDict[str, Any], key: str, value: Any) -> None:
        store[key] = value
        store.move_to_end(key)
        while len(store) > 50 * self.config.drift_window:
            store.popitem(last=False)

    # --- periodic evaluation ---------------------------------------------------------------------

    def evaluate(self, now: float) -> None:
        from lfd.drift.champion import baselines

        qualities = self.labels.qualities()
        lookup = self.baselines or baselines
        known = lookup(self.champion.name, [q.model_version for q in qualities]) if qualities else {}
        self.gauges.quality(qualities, known)
        pairs = self.shadow.pairs()
        if pairs:
            self.gauges.comparison(compare(pairs, dict(self.fraud)))
        mine = next((q for q in qualities if q.model_version == self.champion.version), None)
        drift = self.signals.drift_share
        if now - self.last_drift >= self.config.drift_every_s and len(self.drift_window()) >= 50:
            drift = self.run_drift()
            self.last_drift = now
            if self.config.log_to_mlflow and qualities:
                from lfd.drift.tracking import log_quality

                log_quality(qualities, self.champion.name, step=self.quality_logs)  # same cadence as drift
                self.quality_logs += 1
        self.signals = Signals(
            drift_share=drift,
            label_pr_auc=mine.pr_auc_weighted if mine else None,
            baseline_pr_auc=self.champion.pr_auc_weighted,
            label_frauds=mine.frauds if mine else 0,
        )
        decision = decide(self.signals, self.state, now, self.config.policy)
        self.state = decision.state
        self.gauges.trigger_armed.set(int(decision.state.armed))
        self.gauges.trigger_breaches.set(decision.state.breaches)
        if decision.fire:
            self.decisions.append(decision.reason)
            self.gauges.retrains.labels("drift" if "drift" in decision.reason else "labels").inc()
            log.warning("retraining: %s", decision.reason)
            self.pending_retrain = decision.reason
        if self.pending_retrain is not None:
            self.start_retrain(self.pending_retrain)

    def drift_window(self) -> list[str]:
        ids = [i for i in reversed(self.served) if i in self.transactions]
        return ids[: self.config.drift_window]

    def run_drift(self) -> float:
        from lfd.drift.evidently_report import run_report

        ids = self.drift_window()
        current = pd.DataFrame([self.transactions[i] for i in ids])
        stamp = time.strftime("%Y%m%dT%H%M%S")
        result = run_report(
            self.champion.reference,
            self.champion.reference_scores,
            current,
            [self.served[i] for i in ids],
            self.config.report_dir / f"drift-{stamp}.html",
        )
        self.gauges.drift(result.summary, self.champion.version)
        log.info("drift: %.0f%% of features drifted (%s)", 100 * result.summary.share_drifted, result.html)
        if self.config.log_to_mlflow:
            from lfd.drift.tracking import log_drift

            log_drift(result, self.champion.name, self.champion.version)
        return result.summary.share_drifted

    def labelled_recent(self) -> pd.DataFrame:
        rows = [{**self.transactions[i], "Class": int(f)} for i, f in self.fraud.items() if i in self.transactions]
        return pd.DataFrame(rows).drop(columns=["id"], errors="ignore")

    def start_retrain(self, reason: str) -> None:
        """Start the retrain ``reason`` asks for, once enough recent rows are labelled (else it stays pending)."""
        if self.config.retrain is None or (self.retraining and self.retraining.is_alive()):
            return
        from lfd.drift.retrain import retrain

        recent = self.labelled_recent()
        if len(recent) < self.config.min_retrain_rows:
            log.info(
                "retrain waits for labels: %d of %d recent rows labelled", len(recent), self.config.min_retrain_rows
            )
            return
        self.pending_retrain = None

        def work() -> None:
            try:
                result = retrain(recent, self.config.retrain, reason)
                self.retrains.append(result)
                log.warning("retrain done: version %s, run %s", result.version, result.run_url)
            except Exception as exc:  # the monitor keeps watching; the error is logged and kept
                self.retrain_errors.append(f"{type(exc).__name__}: {exc}")
                log.exception("retrain failed")

        self.retraining = threading.Thread(target=work, name="lfd-retrain", daemon=True)
        self.retraining.start()


def _json(value: bytes) -> Any:
    import json

    try:
        return json.loads(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise records.RecordError("<record>", f"not valid JSON: {exc}") from exc
    except RecursionError:  # "[[[[…" 5,000 deep: would escape handle() and stop the monitor (issue 14)
        raise records.RecordError("<record>", "not valid JSON: nested too deeply") from None


def run(monitor: Monitor, stop: threading.Event, poll_s: float = 0.5) -> None:
    """Consume until ``stop`` is set, evaluating every ``evaluate_every_s``."""
    from confluent_kafka import Consumer

    c = monitor.config
    consumer = Consumer(
        {
            "bootstrap.servers": c.bootstrap,
            "group.id": c.group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": True,
            "isolation.level": "read_committed",
        }
    )
    t = c.topics
    consumer.subscribe([t.transactions, t.scores, t.shadow, t.labels])
    last = 0.0
    try:
        while not stop.is_set():
            for message in consumer.consume(num_messages=1000, timeout=poll_s):
                topic, value = message.topic(), message.value()
                if message.error() is None and topic is not None and value is not None:
                    monitor.handle(topic, value)
            now = time.time()
            if now - last >= c.evaluate_every_s:
                monitor.evaluate(now)
                last = now
    finally:
        consumer.close()
