"""SLO analysis after the switch: error rate and p99 latency of the active colour, from Prometheus.

Scoring pods are scraped with the labels ``namespace``, ``fraudmodel`` and ``colour`` (pod labels relabelled
in-cluster; ``register_target`` labels locally), so the queries see exactly one colour of one FraudModel.
"""

from __future__ import annotations

import math

import httpx

from fraud_operator.analysis import Verdict
from fraud_operator.analysis.prometheus import instant

ERROR_STATUS = "5..|INTERNAL|UNAVAILABLE|UNKNOWN|DEADLINE_EXCEEDED"


def queries(namespace: str, name: str, colour: str, window_s: int) -> dict[str, str]:
    sel = f'namespace="{namespace}",fraudmodel="{name}",colour="{colour}"'
    w = f"{window_s}s"
    return {
        "requests": f"sum(increase(lfd_scoring_requests_total{{{sel}}}[{w}]))",
        "errors": f'sum(increase(lfd_scoring_requests_total{{{sel},status=~"{ERROR_STATUS}"}}[{w}]))',
        "p99": f"histogram_quantile(0.99, sum by (le) (rate(lfd_scoring_request_duration_seconds_bucket{{{sel}}}[{w}])))",
    }


def judge(
    requests: float, errors: float, p99: float, max_error_rate: float, max_p99_s: float, min_requests: int
) -> Verdict:
    """Pure verdict from the three measurements."""
    if requests < max(min_requests, 1e-9):
        return Verdict("Inconclusive", f"slo: {requests:.0f} requests in the window (< {min_requests})")
    error_rate = errors / requests
    summary = (
        f"slo: {requests:.0f} requests, error rate {error_rate:.4f} (max {max_error_rate}), "
        f"p99 {p99 * 1000:.1f} ms (max {max_p99_s * 1000:.1f} ms)"
    )
    if error_rate > max_error_rate:
        return Verdict("Failed", summary + ": error rate too high")
    if math.isnan(p99) or p99 > max_p99_s:
        return Verdict("Failed", summary + ": p99 latency too high")
    return Verdict("Passed", summary)


def run_slo(
    prometheus_url: str,
    namespace: str,
    name: str,
    colour: str,
    window_s: int,
    max_error_rate: float,
    max_p99_s: float,
    min_requests: int,
) -> Verdict:
    q = queries(namespace, name, colour, window_s)
    with httpx.Client(timeout=10.0) as client:
        values = {key: (instant(client, prometheus_url, query, "slo") or 0.0) for key, query in q.items()}
    return judge(values["requests"], values["errors"], values["p99"], max_error_rate, max_p99_s, min_requests)
