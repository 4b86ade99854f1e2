"""The newest scored transactions from Kafka, for a one-shot drift check (adapter).

Reads the tail of ``transactions`` and ``scores`` (primary, read_committed) by seeking each partition
to ``high watermark - tail`` and joins them by id; rows that fail the contract or scores that do not
parse are skipped and counted (the job's DLQ already holds the former with reasons).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from lfd.contract import ContractViolation, parse_transaction
from lfd.drift.records import RecordError, parse_score
from lfd.streaming.config import DEFAULT_TOPICS


def _tail(bootstrap: str, topic: str, tail: int) -> list[bytes]:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "lfd-drift-oneshot",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        if topic not in metadata.topics or metadata.topics[topic].error is not None:
            raise ValueError(f"Kafka topic {topic!r} does not exist on {bootstrap}")
        parts, ends = [], {}
        for p in metadata.topics[topic].partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > low:
                parts.append(TopicPartition(topic, p, max(low, high - tail)))
                ends[p] = high
        if not parts:
            return []
        consumer.assign(parts)
        values: list[bytes] = []
        while ends:
            for message in consumer.consume(num_messages=1000, timeout=2.0) or []:
                if message.error() is not None:
                    continue
                value = message.value()
                if value is not None:
                    values.append(value)
                partition, offset = message.partition(), message.offset()
                if partition in ends and offset is not None and offset >= ends[partition] - 1:
                    del ends[partition]
            if not values and not ends:
                break
        return values
    finally:
        consumer.close()


def recent_scored(
    bootstrap: str,
    window: int,
    transactions: str = DEFAULT_TOPICS["input_topic"],
    scores: str = DEFAULT_TOPICS["scores_topic"],
) -> tuple[pd.DataFrame, list[float]]:
    served: dict[str, float] = {}
    for raw in _tail(bootstrap, scores, 2 * window):
        try:
            score = parse_score(raw)
        except RecordError:
            continue
        if not score.shadow:
            served[score.id] = score.probability
    rows: list[dict[str, Any]] = []
    for raw in reversed(_tail(bootstrap, transactions, 4 * window)):
        try:
            tx = parse_transaction(json.loads(raw))
        except (ContractViolation, ValueError):
            continue
        if tx.id in served:
            rows.append(tx.as_dict())
            if len(rows) >= window:
                break
    frame = pd.DataFrame(rows)
    return frame, [served[i] for i in frame["id"]] if len(frame) else []
