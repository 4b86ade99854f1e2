"""Read output topics with ``read_committed`` and check the counting proof (used by tests, demo, bench).

Decide: ``reconcile`` (pure) compares what was produced with what came out.
Act: ``read_topic`` drains a topic from the beginning with a fresh consumer group.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lfd.response import is_fraud


def read_topic(
    bootstrap: str, topic: str, *, expect: int | None = None, timeout_s: float = 60.0, idle_s: float = 3.0
) -> list[dict[str, Any]]:
    """All committed records of ``topic`` as JSON; stops at ``expect`` records or after ``idle_s`` of silence."""
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"lfd-verify-{uuid.uuid4().hex[:8]}",
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    last = time.monotonic()
    try:
        while time.monotonic() < deadline:
            if expect is not None and len(out) >= expect and time.monotonic() - last > idle_s:
                break
            if expect is None and out and time.monotonic() - last > idle_s:
                break
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            out.append(json.loads(msg.value() or b"null"))
            last = time.monotonic()
    finally:
        consumer.close()
    return out


@dataclass
class Reconciliation:
    produced: int
    scored: int
    dead_lettered: int
    alerts: int
    duplicate_ids: list[str] = field(default_factory=list)
    missing_alerts: list[str] = field(default_factory=list)
    unexpected_alerts: list[str] = field(default_factory=list)
    dlq_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def exact(self) -> bool:
        return (
            self.scored + self.dead_lettered == self.produced
            and not self.duplicate_ids
            and not self.missing_alerts
            and not self.unexpected_alerts
        )


def reconcile(
    produced: int, scores: Iterable[dict[str, Any]], dlq: Iterable[dict[str, Any]], alerts: Iterable[dict[str, Any]]
) -> Reconciliation:
    scores, dlq, alerts = list(scores), list(dlq), list(alerts)
    ids = Counter(s["id"] for s in scores) + Counter(d["id"] for d in dlq if d.get("id"))
    fraud_ids = {s["id"] for s in scores if is_fraud(s)}
    alert_ids = [a["id"] for a in alerts]
    return Reconciliation(
        produced=produced,
        scored=len(scores),
        dead_lettered=len(dlq),
        alerts=len(alerts),
        duplicate_ids=sorted(i for i, n in ids.items() if n > 1)
        + sorted(i for i, n in Counter(alert_ids).items() if n > 1),
        missing_alerts=sorted(fraud_ids - set(alert_ids)),
        unexpected_alerts=sorted(set(alert_ids) - fraud_ids),
        dlq_reasons=dict(Counter(f"{d['reason']}:{d['field']}" for d in dlq)),
    )


def read_outputs(
    bootstrap: str, *, scores_topic: str, dlq_topic: str, alerts_topic: str, produced: int, valid: int
) -> tuple[Reconciliation, list[dict[str, Any]]]:
    """The counting proof's reads: the job's scores, dead letters and alerts (read_committed), each until what
    ``produced`` records of which ``valid`` were well-formed should have left there, reconciled; with the scores."""
    scores = read_topic(bootstrap, scores_topic, expect=valid, timeout_s=240, idle_s=6)
    dlq = read_topic(bootstrap, dlq_topic, expect=produced - valid, timeout_s=60, idle_s=3)
    frauds = sum(1 for s in scores if is_fraud(s))
    alerts = read_topic(bootstrap, alerts_topic, expect=frauds, timeout_s=60, idle_s=3)
    return reconcile(produced, scores, dlq, alerts), scores
