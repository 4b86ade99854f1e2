"""Argo-style conditions (Available, Progressing, Degraded, Paused) derived from the phase: pure."""

from __future__ import annotations

from fraud_operator.spec import Condition, FraudModelStatus


def _condition(kind: str, on: bool, reason: str, message: str, previous: list[Condition], now: str) -> Condition:
    status = "True" if on else "False"
    before = next((c for c in previous if c.type == kind), None)
    since = before.last_transition_time if before is not None and before.status == status else now
    return Condition.model_validate(
        {"type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": since}
    )


def compute(previous: list[Condition], status: FraudModelStatus, active_ready: bool, now: str) -> list[Condition]:
    phase, step, message = status.phase, status.current_step, status.message
    return [
        _condition(
            "Available",
            active_ready,
            "ActiveReady" if active_ready else "NoReadyPods",
            f"{status.active_colour} has ready pods" if active_ready else "the stable Service has no ready pods",
            previous,
            now,
        ),
        _condition("Progressing", phase in ("Progressing", "Paused"), step or "Idle", message, previous, now),
        _condition(
            "Degraded",
            phase == "Degraded",
            step if phase == "Degraded" else "Healthy",
            message if phase == "Degraded" else "",
            previous,
            now,
        ),
        _condition(
            "Paused",
            phase == "Paused",
            step if phase == "Paused" else "NotPaused",
            message if phase == "Paused" else "",
            previous,
            now,
        ),
    ]
