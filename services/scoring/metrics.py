"""The service's Prometheus metrics (names are a shared contract: see the project briefing).

Created inside the worker (``ScoringMetrics()`` in the service's ``__init__``), never at import:
BentoML sets ``PROMETHEUS_MULTIPROC_DIR`` in the worker before instantiating the service, and
``prometheus_client`` must see it to write where BentoML's ``/metrics`` endpoint reads.

``lfd_scoring_batch_size`` observes the number of rows each *model call* scored, i.e. after adaptive
batching: it is how you see batching work (single-transaction traffic → growing batches under load).

Why a tally: in multiprocess mode every ``inc``/``observe`` is a locked write to an mmap'd file, and a
request updated ~10 of them (its counter and latency, the score histogram's buckets, the decisions, the
batch size): ~15 % of a 100-row request's CPU (py-spy, docs/scoring.md). Requests now add to plain
in-memory counts (:class:`Tally`, pure); :meth:`ScoringMetrics.flush` writes them out. The service
flushes before answering every ``/metrics`` scrape (so a scrape sees every request answered before it)
and once a second otherwise.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
SCORE_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 10_000)


def _upper_bounds(buckets: tuple[float, ...]) -> list[float]:
    """prometheus_client's bucket bounds for ``buckets`` (+Inf appended): a value goes to the first
    bound >= it, as ``Histogram.observe`` does."""
    return [*map(float, buckets), float("inf")]


@dataclass
class HistogramCounts:
    """Per-bucket counts (not cumulative, as prometheus_client stores them) and the sum of values."""

    upper: list[float]
    counts: npt.NDArray[np.int64] = field(init=False)
    total: float = 0.0

    def __post_init__(self) -> None:
        self.counts = np.zeros(len(self.upper), dtype=np.int64)
        self._bounds = np.asarray(self.upper)

    def add(self, value: float) -> None:
        self.counts[bisect_left(self.upper, value)] += 1
        self.total += value

    def add_many(self, values: npt.NDArray[Any]) -> None:
        self.counts += np.bincount(self._bounds.searchsorted(values, side="left"), minlength=len(self.upper))
        self.total += float(values.sum(dtype=np.float64))


@dataclass
class Tally:
    """What requests did since the last flush, in plain numbers (pure: no Prometheus, no I/O)."""

    requests: dict[tuple[str, str, str], int] = field(default_factory=dict)
    durations: dict[tuple[str, str], HistogramCounts] = field(default_factory=dict)
    scores: HistogramCounts = field(default_factory=lambda: HistogramCounts(_upper_bounds(SCORE_BUCKETS)))
    decisions: dict[str, int] = field(default_factory=lambda: {"fraud": 0, "legit": 0})
    batch_sizes: HistogramCounts = field(default_factory=lambda: HistogramCounts(_upper_bounds(BATCH_BUCKETS)))

    def request(self, endpoint: str, protocol: str, status: str, seconds: float) -> None:
        key = (endpoint, protocol, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        latency = self.durations.get((endpoint, protocol))
        if latency is None:
            latency = self.durations[(endpoint, protocol)] = HistogramCounts(_upper_bounds(LATENCY_BUCKETS))
        latency.add(seconds)

    def scored(self, proba: npt.NDArray[Any], frauds: int) -> None:
        self.scores.add_many(proba)
        self.decisions["fraud"] += frauds
        self.decisions["legit"] += len(proba) - frauds


class ScoringMetrics:
    def __init__(self, registry: Any = None) -> None:
        import prometheus_client as prom  # deferred on purpose, see module docstring

        registry = prom.REGISTRY if registry is None else registry
        self.requests = prom.Counter(
            "lfd_scoring_requests_total",
            "Scoring requests by endpoint, protocol and status code",
            ["endpoint", "protocol", "status"],
            registry=registry,
        )
        self.duration = prom.Histogram(
            "lfd_scoring_request_duration_seconds",
            "Request latency inside the service",
            ["endpoint", "protocol"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.score = prom.Histogram(
            "lfd_scoring_score", "Fraud probabilities returned", buckets=SCORE_BUCKETS, registry=registry
        )
        self.decisions = prom.Counter(
            "lfd_scoring_decisions_total", "Decisions returned", ["decision"], registry=registry
        )
        self.batch_size = prom.Histogram(
            "lfd_scoring_batch_size",
            "Rows per model call (after adaptive batching)",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.model_info = prom.Gauge(
            "lfd_model_info",
            "The model being served (value 1)",
            ["model_name", "model_version", "threshold", "flavor"],
            multiprocess_mode="livemax",
            registry=registry,
        )
        self._tally = Tally()
        # model calls are counted from the model thread too; requests and scores only on the event loop
        self._lock = threading.Lock()

    def request(self, endpoint: str, protocol: str, status: str | int, seconds: float) -> None:
        with self._lock:
            self._tally.request(endpoint, protocol, str(status), seconds)

    def scores(self, proba: npt.NDArray[Any], frauds: int) -> None:
        """Probabilities returned, ``frauds`` of them at or above the threshold."""
        with self._lock:
            self._tally.scored(proba, frauds)

    def model_call(self, rows: int) -> None:
        """One model call of ``rows`` rows (``lfd_scoring_batch_size``); safe from any thread."""
        with self._lock:
            self._tally.batch_sizes.add(rows)

    def flush(self) -> None:
        """Write everything tallied since the last flush to the Prometheus metrics."""
        with self._lock:
            tally, self._tally = self._tally, Tally()
        for (endpoint, protocol, status), n in tally.requests.items():
            self.requests.labels(endpoint=endpoint, protocol=protocol, status=status).inc(n)
        for (endpoint, protocol), latency in tally.durations.items():
            add_counts(self.duration.labels(endpoint=endpoint, protocol=protocol), latency)
        add_counts(self.score, tally.scores)
        add_counts(self.batch_size, tally.batch_sizes)
        for decision, n in tally.decisions.items():
            if n:
                self.decisions.labels(decision=decision).inc(n)

    def model_loaded(self, name: str, version: str, threshold: float, flavor: str) -> None:
        self.model_info.labels(model_name=name, model_version=version, threshold=f"{threshold:.6g}", flavor=flavor).set(
            1
        )


def add_counts(histogram: Any, counts: HistogramCounts) -> None:
    """Add tallied bucket counts to a prometheus_client histogram (one increment per non-empty bucket).

    Uses prometheus_client's bucket layout (``_upper_bounds``, ``_buckets``, ``_sum``, not public API),
    checked against ours: a prometheus_client that changes it fails loudly here (unit-tested)."""
    if not counts.counts.any():
        return
    upper = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if upper is None or buckets is None or total is None or list(upper) != counts.upper:
        raise RuntimeError("prometheus_client's histogram layout changed: update scoring.metrics.add_counts")
    for bucket, n in zip(buckets, counts.counts.tolist(), strict=True):
        if n:
            bucket.inc(n)
    total.inc(counts.total)
