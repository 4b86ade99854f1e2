"""The service's Prometheus metrics (names are a shared contract: see the project briefing).

Created inside the worker (``ScoringMetrics()`` in the service's ``__init__``), never at import:
BentoML sets ``PROMETHEUS_MULTIPROC_DIR`` in the worker before instantiating the service, and
``prometheus_client`` must see it to write where BentoML's ``/metrics`` endpoint reads.

``lfd_scoring_batch_size`` observes the number of rows each *model call* scored, i.e. after adaptive
batching: it is how you see batching work (single-transaction traffic → growing batches under load).
"""

from __future__ import annotations

from typing import Any

import numpy as np

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
SCORE_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 10_000)


class ScoringMetrics:
    def __init__(self) -> None:
        import prometheus_client as prom  # deferred on purpose, see module docstring

        self.requests = prom.Counter(
            "lfd_scoring_requests_total",
            "Scoring requests by endpoint, protocol and status code",
            ["endpoint", "protocol", "status"],
        )
        self.duration = prom.Histogram(
            "lfd_scoring_request_duration_seconds",
            "Request latency inside the service",
            ["endpoint", "protocol"],
            buckets=LATENCY_BUCKETS,
        )
        self.score = prom.Histogram("lfd_scoring_score", "Fraud probabilities returned", buckets=SCORE_BUCKETS)
        self.decisions = prom.Counter("lfd_scoring_decisions_total", "Decisions returned", ["decision"])
        self.batch_size = prom.Histogram(
            "lfd_scoring_batch_size", "Rows per model call (after adaptive batching)", buckets=BATCH_BUCKETS
        )
        self.model_info = prom.Gauge(
            "lfd_model_info",
            "The model being served (value 1)",
            ["model_name", "model_version", "threshold", "flavor"],
            multiprocess_mode="livemax",
        )

    def request(self, endpoint: str, protocol: str, status: str | int, seconds: float) -> None:
        self.requests.labels(endpoint=endpoint, protocol=protocol, status=str(status)).inc()
        self.duration.labels(endpoint=endpoint, protocol=protocol).observe(seconds)

    def scores(self, proba: Any, threshold: float) -> None:
        observe_many(self.score, proba)
        frauds = int(np.count_nonzero(proba >= threshold))
        legit = len(proba) - frauds
        if frauds:
            self.decisions.labels(decision="fraud").inc(frauds)
        if legit:
            self.decisions.labels(decision="legit").inc(legit)

    def model_loaded(self, name: str, version: str, threshold: float, flavor: str) -> None:
        self.model_info.labels(model_name=name, model_version=version, threshold=f"{threshold:.6g}", flavor=flavor).set(
            1
        )


def observe_many(histogram: Any, values: Any) -> None:
    """Observe a whole array at once: one increment per bucket instead of one call per value.

    A 10,000-row batch would otherwise cost 10,000 ``observe`` calls (each a locked mmap write in
    multiprocess mode). Uses prometheus_client's bucket layout; falls back to ``observe`` if it changes.
    """
    upper = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if upper is None or buckets is None or total is None:
        for value in np.asarray(values, dtype=np.float64).tolist():
            histogram.observe(value)
        return
    array = np.asarray(values, dtype=np.float64)
    counts = np.bincount(np.searchsorted(np.asarray(upper), array, side="left"), minlength=len(upper))
    for bucket, count in zip(buckets, counts.tolist(), strict=False):
        if count:
            bucket.inc(count)
    total.inc(float(array.sum()))
