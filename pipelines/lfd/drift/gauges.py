"""The monitor's Prometheus gauges (adapter): one registry, one publish function per result type.

Names are the contract with ``stack/prometheus/rules/fraud.yml`` and the Grafana dashboard; the
dashboard test checks every panel's metric against what the live stack exports.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from lfd.constants import SHADOW_LABELS, SHADOW_METRICS
from lfd.drift.compare import Comparison
from lfd.drift.quality import Quality
from lfd.drift.summary import DriftSummary


class Gauges:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r, v = self.registry, ["model_version"]
        self.pr_auc = Gauge("lfd_label_pr_auc_weighted", "Label-based weighted PR-AUC over the window", v, registry=r)
        self.baseline = Gauge("lfd_label_pr_auc_baseline", "The model's held-out weighted PR-AUC", v, registry=r)
        self.recall = Gauge("lfd_label_recall_at_threshold", "Share of labelled frauds alerted", v, registry=r)
        self.precision = Gauge("lfd_label_alert_precision", "Weighted share of alerts that were fraud", v, registry=r)
        self.window = Gauge("lfd_label_window_transactions", "Labelled transactions in the window", v, registry=r)
        self.frauds = Gauge("lfd_label_window_frauds", "Labelled frauds in the window", v, registry=r)
        self.share = Gauge("lfd_drift_share_drifted_features", "Share of features drifted (Evidently)", v, registry=r)
        self.feature = Gauge(
            "lfd_drift_feature_score", "Evidently drift score per feature", ["feature", "method"], registry=r
        )
        self.score_shift = Gauge(
            "lfd_drift_score_distribution_shift", "Evidently drift score of the fraud probability", v, registry=r
        )
        self.drift_runs = Gauge("lfd_drift_last_run_timestamp_seconds", "When drift last ran", registry=r)
        self.trigger_armed = Gauge("lfd_retrain_trigger_armed", "1 when a new breach may fire a retrain", registry=r)
        self.trigger_breaches = Gauge("lfd_retrain_trigger_breaches", "Consecutive evaluations in breach", registry=r)
        self.retrains = Counter("lfd_retrain_runs", "Retraining runs started, by reason", ["reason"], registry=r)
        for reason in ("drift", "labels"):  # exported at 0 from the start, so increase() sees the first retrain
            self.retrains.labels(reason)
        pair, m = list(SHADOW_LABELS), SHADOW_METRICS  # also read by the operator's shadow gate
        self.agreement = Gauge(m["agreement"], "Share of same decisions, champion vs challenger", pair, registry=r)
        self.alert_ratio = Gauge(m["alert_rate_ratio"], "Challenger alert rate / champion's", pair, registry=r)
        self.distance = Gauge(m["score_distance"], "KS distance between the two score distributions", pair, registry=r)
        self.pairs = Gauge(m["transactions"], "Transactions scored by both", pair, registry=r)
        self.pair_pr_auc = Gauge(
            "lfd_shadow_pr_auc_weighted",
            "Weighted PR-AUC of each model on the same labelled shadow pairs",
            [*pair, "model"],
            registry=r,
        )
        self.consumed = Counter(
            "lfd_monitor_records", "Records consumed by the monitor", ["topic", "result"], registry=r
        )

    def serve(self, port: int, addr: str = "0.0.0.0") -> None:
        start_http_server(port, addr=addr, registry=self.registry)

    def quality(self, qualities: Iterable[Quality], baselines: dict[str, float]) -> None:
        for q in qualities:
            v = q.model_version
            self.window.labels(v).set(q.transactions)
            self.frauds.labels(v).set(q.frauds)
            self.pr_auc.labels(v).set(q.pr_auc_weighted)  # NaN until both classes: alerts compare false
            self.recall.labels(v).set(q.recall_at_threshold)
            self.precision.labels(v).set(q.alert_precision)
            if v in baselines:
                self.baseline.labels(v).set(baselines[v])

    def drift(self, summary: DriftSummary, model_version: str) -> None:
        self.share.labels(model_version).set(summary.share_drifted)
        for column in summary.features:
            self.feature.labels(column.column, column.method).set(column.score)
        if summary.score is not None:
            self.score_shift.labels(model_version).set(summary.score.score)
        self.drift_runs.set(time.time())

    def comparison(self, c: Comparison) -> None:
        labels = (c.champion_version, c.challenger_version)
        self.agreement.labels(*labels).set(c.agreement)
        self.alert_ratio.labels(*labels).set(c.alert_rate_ratio)
        self.distance.labels(*labels).set(c.score_distance)
        self.pairs.labels(*labels).set(c.transactions)
        if c.labelled:
            self.pair_pr_auc.labels(*labels, "champion").set(c.champion_pr_auc)
            self.pair_pr_auc.labels(*labels, "challenger").set(c.challenger_pr_auc)
