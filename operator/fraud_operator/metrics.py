"""Prometheus metrics of the operator itself (served on --metrics-port, /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

RECONCILES = Counter("lfd_operator_reconciles_total", "Reconciles by result", ["result"])
RECONCILE_SECONDS = Histogram(
    "lfd_operator_reconcile_duration_seconds",
    "Time of one reconcile (decide, act, record)",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
ROLLOUTS = Counter("lfd_operator_rollouts_total", "Traffic switches to a new revision", ["kind"])
ROLLBACKS = Counter("lfd_operator_rollbacks_total", "Rollbacks by reason", ["reason"])
ANALYSES = Counter("lfd_operator_analysis_total", "Analysis verdicts", ["kind", "result"])
#: 1 for each FraudModel's current phase, 0 for the others (the RolloutStuck alert watches Progressing).
PHASE = Gauge("lfd_operator_fraudmodel_phase", "Current phase per FraudModel", ["namespace", "fraudmodel", "phase"])
PHASES = ("Progressing", "Healthy", "Paused", "Degraded")

#: Event reasons that count as a rollback (a rollout is counted from the event's structured ``rollout`` kind).
ROLLBACK_REASONS = {"RolledBack", "RollbackRequested", "RolloutAborted"}


def serve(port: int) -> None:
    if port > 0:
        start_http_server(port, addr="0.0.0.0")
