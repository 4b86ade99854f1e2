"""Kafka smoke test: a transactional producer's committed records are visible to a read_committed
consumer, its aborted records are not."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Consumer, Producer

from lfd_dev.components.kafka import TOPICS, TRANSACTION_MAX_TIMEOUT_MS, ensure_topics
from lfd_dev.settings import Settings

pytestmark = pytest.mark.integration


def _consume_all(bootstrap: str, topic: str, expected: int, isolation: str) -> list[bytes]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"smoke-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
            "isolation.level": isolation,
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    values: list[bytes] = []
    empty_polls = 0
    try:
        while empty_polls < 6:
            msg = consumer.poll(1.0)
            if msg is None:
                empty_polls += 1 if len(values) >= expected else 0
                continue
            assert msg.error() is None, msg.error()
            values.append(msg.value())
    finally:
        consumer.close()
    return values


def test_transactional_produce_is_read_committed(kafka: str, stack_settings: Settings) -> None:
    topic = f"smoke-{uuid.uuid4().hex[:8]}"
    ensure_topics(stack_settings, {topic: 1})
    producer = Producer(
        {
            "bootstrap.servers": kafka,
            "transactional.id": f"smoke-{uuid.uuid4()}",
            "transaction.timeout.ms": 60_000,
        }
    )
    producer.init_transactions(30)
    producer.begin_transaction()
    for i in range(5):
        producer.produce(topic, key=f"k{i}", value=f"committed-{i}")
    producer.commit_transaction(30)
    producer.begin_transaction()
    producer.produce(topic, key="x", value="aborted")
    producer.flush(10)
    producer.abort_transaction(30)

    committed = _consume_all(kafka, topic, 5, "read_committed")
    assert sorted(committed) == [f"committed-{i}".encode() for i in range(5)]
    # read_uncommitted sees the aborted record too: the isolation level is what hid it.
    uncommitted = _consume_all(kafka, topic, 6, "read_uncommitted")
    assert b"aborted" in uncommitted


def test_project_topics_exist_and_broker_allows_long_transactions(kafka: str) -> None:
    from confluent_kafka.admin import AdminClient, ConfigResource

    admin = AdminClient({"bootstrap.servers": kafka})
    assert set(TOPICS) <= set(admin.list_topics(timeout=10).topics)
    broker = ConfigResource(ConfigResource.Type.BROKER, "1")
    config = admin.describe_configs([broker])[broker].result(timeout=10)
    # The Flink Kafka sink's default transaction timeout is 1 h; the broker must allow it.
    assert int(config["transaction.max.timeout.ms"].value) >= TRANSACTION_MAX_TIMEOUT_MS >= 3_600_000
