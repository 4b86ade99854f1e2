"""Flink smoke test: a real PyFlink job (streaming environment + Kafka connector jar) reads one Kafka
topic and writes another."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer

from lfd_dev.components.kafka import ensure_topics
from lfd_dev.settings import Settings

pytestmark = pytest.mark.integration

JOB = Path(__file__).with_name("flink_copy_job.py")


def test_flink_job_reads_a_topic_and_writes_another(flink: Settings, kafka: str) -> None:
    source, sink = f"flink-in-{uuid.uuid4().hex[:6]}", f"flink-out-{uuid.uuid4().hex[:6]}"
    ensure_topics(flink, {source: 1, sink: 1})
    producer = Producer({"bootstrap.servers": kafka})
    for i in range(20):
        producer.produce(source, value=f"record-{i}")
    assert producer.flush(10) == 0

    python = flink.streaming_python
    env = {**os.environ, "PATH": f"{python.parent}:{os.environ['PATH']}"}  # PyFlink workers need this python
    result = subprocess.run(
        [str(python), str(JOB), kafka, source, sink, str(flink.flink_connector_jar)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    consumer = Consumer(
        {"bootstrap.servers": kafka, "group.id": f"check-{uuid.uuid4()}", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([sink])
    got: list[str] = []
    for _ in range(60):
        msg = consumer.poll(1.0)
        if msg is not None and msg.error() is None:
            got.append(msg.value().decode())
        if len(got) >= 20:
            break
    consumer.close()
    assert sorted(got) == sorted(f"RECORD-{i}" for i in range(20))
