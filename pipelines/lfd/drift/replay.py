"""`lfd replay`: transactions into ``transactions`` now, their labels into ``labels`` after a delay (adapter).

Production labels arrive days later (chargebacks); here the delay is seconds so the loop is visible.
Labels are held in a heap ordered by due time and sent once due, interleaved with the transactions;
at the end the rest are sent as they fall due (``--label-delay 0`` sends each label with its row).
"""

from __future__ import annotations

import heapq
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from lfd.drift.records import LABELS_TOPIC, label_json
from lfd.drift.shift import Labelled
from lfd.streaming.config import DEFAULT_TOPICS


@dataclass(frozen=True)
class ReplayReport:
    transactions: int
    labels: int
    frauds: int
    seconds: float


def send(
    bootstrap: str,
    rows: Iterable[Labelled],
    *,
    transactions_topic: str = DEFAULT_TOPICS["input_topic"],
    labels_topic: str = LABELS_TOPIC,
    rate: float = 200.0,
    label_delay_s: float = 5.0,
    progress: Callable[[int], None] | None = None,
) -> ReplayReport:
    from confluent_kafka import KafkaException, Producer

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    errors: list[str] = []

    def delivered(err: Any, _msg: Any) -> None:
        if err is not None:
            errors.append(str(err))

    due: list[tuple[float, str, bool]] = []
    sent = labels = frauds = 0
    began = time.monotonic()

    def flush_due(until: float) -> None:
        nonlocal labels
        while due and due[0][0] <= until:
            _, tx_id, fraud = heapq.heappop(due)
            value = label_json(tx_id, fraud, int(time.time() * 1000))
            producer.produce(labels_topic, key=tx_id.encode(), value=value, on_delivery=delivered)
            labels += 1

    for row in rows:
        if rate > 0:
            ahead = began + sent / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        record = json.dumps({"id": row.id, **row.features}, separators=(",", ":")).encode()
        producer.produce(transactions_topic, key=row.id.encode(), value=record, on_delivery=delivered)
        heapq.heappush(due, (time.monotonic() + label_delay_s, row.id, row.fraud))
        sent += 1
        frauds += row.fraud
        flush_due(time.monotonic())
        producer.poll(0)
        if progress and sent % 1000 == 0:
            progress(sent)
    while due:
        time.sleep(max(0.0, min(due[0][0] - time.monotonic(), 0.5)))
        flush_due(time.monotonic())
        producer.poll(0)
    remaining = producer.flush(60)
    if remaining or errors:
        raise KafkaException(f"{remaining} records unacknowledged, {len(errors)} failed: {errors[:3]}")
    return ReplayReport(sent, labels, frauds, time.monotonic() - began)
