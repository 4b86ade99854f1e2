"""The tallied metrics (scoring.metrics): what a flush writes equals what direct prometheus_client calls
would have written, bucket for bucket. Unit tier: private registries, no service. The service's own
flush-before-scrape is covered against the real process in test_lifecycle_metrics_parity.py."""

from __future__ import annotations

import threading

import numpy as np
import prometheus_client as prom
import pytest

from scoring.metrics import BATCH_BUCKETS, LATENCY_BUCKETS, SCORE_BUCKETS, ScoringMetrics

pytestmark = pytest.mark.unit


def samples(registry: prom.CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in registry.collect()
        for s in family.samples
        if not s.name.endswith("_created")
    }


def reference(
    registry: prom.CollectorRegistry,
    requests: list[tuple[str, str, str, float]],
    scores: list[float],
    threshold: float,
    batches: list[int],
) -> None:
    """The same traffic through plain prometheus_client calls, one per value."""
    counter = prom.Counter("lfd_scoring_requests_total", "", ["endpoint", "protocol", "status"], registry=registry)
    latency = prom.Histogram(
        "lfd_scoring_request_duration_seconds", "", ["endpoint", "protocol"], buckets=LATENCY_BUCKETS, registry=registry
    )
    score = prom.Histogram("lfd_scoring_score", "", buckets=SCORE_BUCKETS, registry=registry)
    decisions = prom.Counter("lfd_scoring_decisions_total", "", ["decision"], registry=registry)
    batch = prom.Histogram("lfd_scoring_batch_size", "", buckets=BATCH_BUCKETS, registry=registry)
    prom.Gauge("lfd_model_info", "", ["model_name", "model_version", "threshold", "flavor"], registry=registry)
    for endpoint, protocol, status, seconds in requests:
        counter.labels(endpoint=endpoint, protocol=protocol, status=status).inc()
        latency.labels(endpoint=endpoint, protocol=protocol).observe(seconds)
    for value in scores:
        score.observe(value)
        decisions.labels(decision="fraud" if value >= threshold else "legit").inc()
    for rows in batches:
        batch.observe(rows)


def test_a_flush_writes_exactly_what_direct_observations_would() -> None:
    rng = np.random.default_rng(3)
    # values on bucket bounds too: a bound belongs to its own bucket (le), as prometheus_client counts it
    scores = np.concatenate([rng.random(500), np.asarray(SCORE_BUCKETS), [0.0, 1.0]]).astype(np.float32)
    requests = [("infer", "grpc", "OK", 0.0005), ("infer", "http", "200", 0.3), ("score", "http", "400", 9.0)]
    requests += [("infer", "grpc", "OK", float(s)) for s in rng.exponential(0.01, 50)]
    batches = [1, 100, 4096, 10_000, 12_000, 64]
    threshold = 0.4

    tallied = prom.CollectorRegistry()
    metrics = ScoringMetrics(registry=tallied)
    for endpoint, protocol, status, seconds in requests:
        metrics.request(endpoint, protocol, status, seconds)
    for chunk in np.array_split(scores, 7):
        metrics.scores(chunk, int(np.count_nonzero(chunk >= np.float32(threshold))))
    for rows in batches:
        metrics.model_call(rows)
    assert samples(tallied)[("lfd_scoring_score_count", ())] == 0  # nothing is written before a flush
    metrics.flush()
    metrics.flush()  # a second flush adds nothing

    direct = prom.CollectorRegistry()
    reference(direct, requests, [float(np.float64(s)) for s in scores], float(np.float32(threshold)), batches)
    got, want = samples(tallied), samples(direct)
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-9), key


def test_model_calls_counted_from_other_threads_are_all_flushed() -> None:
    registry = prom.CollectorRegistry()
    metrics = ScoringMetrics(registry=registry)

    def count() -> None:
        for _ in range(2_000):
            metrics.model_call(3)

    threads = [threading.Thread(target=count) for _ in range(4)]
    for t in threads:
        t.start()
    for _ in range(50):
        metrics.flush()  # flushing while the threads count loses nothing
    for t in threads:
        t.join()
    metrics.flush()
    assert samples(registry)[("lfd_scoring_batch_size_count", ())] == 8_000
    assert samples(registry)[("lfd_scoring_batch_size_sum", ())] == 24_000
