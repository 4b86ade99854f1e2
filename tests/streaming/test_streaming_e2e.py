"""E2E: the counting proof on real Kafka, a real Flink job and the real scoring service — also under faults.

Given N records (some malformed) in a fresh `transactions` topic, when the job runs (and a fault hits
mid-stream), then `scores` + DLQ read with read_committed hold exactly N records, no id twice, and every
fraud decision is also in `fraud-alerts`.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from lfd.streaming import produce as p
from lfd.streaming.verify import read_topic
from lfd_dev.components.kafka import KAFKA
from lfd_dev.scoring_process import ScoringProcess
from lfd_dev.settings import Settings
from lfd_dev.streaming_job import LocalJob, latest_checkpoint

from .conftest import Topics, prove_counts

pytestmark = pytest.mark.e2e

N = 800
MALFORMED_SHARE = 0.025  # every 40th record: 20 malformed, 4 of each kind
RATE = 400.0


class OpenOutput:
    """The output partitions holding records of a transaction neither committed nor aborted: a read_committed
    reader's end (the last stable offset) is behind a read_uncommitted reader's (the high watermark). One
    ListOffsets round trip per partition (milliseconds), so a kill can follow the observation at once."""

    def __init__(self, kafka: str, topics: list[str]) -> None:
        from confluent_kafka import Consumer, TopicPartition

        self.readers = {
            level: Consumer({"bootstrap.servers": kafka, "group.id": "lso-probe", "isolation.level": level})
            for level in ("read_committed", "read_uncommitted")
        }
        committed = self.readers["read_committed"]
        self.partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in committed.list_topics(topic, timeout=10).topics[topic].partitions
        ]

    def __call__(self) -> list[str]:
        ends = {
            level: [reader.get_watermark_offsets(tp, timeout=5)[1] for tp in self.partitions]
            for level, reader in self.readers.items()
        }
        pairs = zip(self.partitions, ends["read_committed"], ends["read_uncommitted"], strict=True)
        return [f"{tp.topic}[{tp.partition}] {stable}<{high}" for tp, stable, high in pairs if stable < high]

    def __enter__(self) -> OpenOutput:
        return self

    def __exit__(self, *_: object) -> None:
        for reader in self.readers.values():
            reader.close()


def produce(
    kafka: str,
    topic: str,
    run_id: str,
    start: int,
    count: int,
    rate: float = RATE,
    connected: threading.Event | None = None,
) -> Counter[str]:
    planned = list(
        p.plan_records(
            p.load_rows(), count=start + count, fraud_ratio=0.2, malformed_share=MALFORMED_SHARE, run_id=run_id
        )
    )[start:]
    on_connected = connected.set if connected is not None else None
    return Counter(p.send(kafka, topic, iter(planned), rate=rate, run_id=run_id, on_connected=on_connected).kinds)


def run_scenario(
    kafka: str,
    topics: Topics,
    job: LocalJob,
    fault: Callable[[Callable[[], None]], None] | None = None,
    rest_rate: float = RATE,
    rest_connected: threading.Event | None = None,
) -> tuple[Counter[str], list[dict[str, Any]]]:
    """Produce N/2, then let ``fault(produce_rest)`` hit the system and produce the rest (at ``rest_rate``)
    while it lasts; ``rest_connected`` is set once the second producer reached the broker."""
    job.start()
    job.checkpoint_after(0, timeout_s=600)  # running, with a first checkpoint (250 s+ on a machine at load 30)
    run_id = topics.transactions.removesuffix("-transactions")
    kinds = produce(kafka, topics.transactions, run_id, 0, N // 2)

    def produce_rest() -> None:
        kinds.update(produce(kafka, topics.transactions, run_id, N // 2, N - N // 2, rest_rate, rest_connected))

    if fault is None:
        produce_rest()
    else:
        fault(produce_rest)
    assert sum(kinds.values()) == N
    return kinds, prove_counts(kafka, topics, kinds, job)


def test_counting_proof_with_every_malformed_kind_and_shadow_scores(
    kafka: str, topics: Topics, scoring: ScoringProcess, make_job: Callable[..., LocalJob]
) -> None:
    job = make_job(scoring.url, shadow_url=scoring.url, design="batch")
    kinds, _ = run_scenario(kafka, topics, job)
    assert all(kinds[k] >= 1 for k in p.MALFORMED_KINDS), kinds
    dlq = read_topic(kafka, topics.dlq, expect=N - kinds[p.VALID], timeout_s=30, idle_s=2)
    reasons = Counter((d["reason"], d["field"]) for d in dlq)
    assert reasons == {
        ("not_json", "<record>"): kinds["not_json"],
        ("contract_violation", "V7"): kinds["missing_field"],
        ("contract_violation", "V3"): kinds["nan"],
        ("contract_violation", "Amount"): kinds["wrong_type"],
        ("oversized", "<record>"): kinds["oversized"],
    }
    shadow = read_topic(kafka, topics.shadow, expect=kinds[p.VALID], timeout_s=60, idle_s=3)
    assert len({s["id"] for s in shadow}) == len(shadow) == kinds[p.VALID]
    assert all(s["shadow"] for s in shadow)


def test_counting_proof_when_the_scoring_service_is_killed_and_restarted(
    kafka: str, topics: Topics, scoring: ScoringProcess, make_job: Callable[..., LocalJob]
) -> None:
    job = make_job(scoring.url, design="batch")

    def outage(produce_rest: Callable[[], None]) -> None:
        scoring.kill()
        produce_rest()  # records arrive while the service is down: the job must wait, not drop
        time.sleep(5)
        assert job.alive(), job.log_tail()
        scoring.start().wait_ready()  # same ports: the job keeps its URL

    _, scores = run_scenario(kafka, topics, job, outage)
    # the second half waited for the restarted service (≥ 5 s), none was skipped
    assert max(s["event_to_score_ms"] for s in scores) > 5_000


@pytest.mark.parametrize("design", ["batch", "async"])
def test_counting_proof_when_the_job_is_killed_mid_stream_and_restored_from_its_checkpoint(
    kafka: str,
    topics: Topics,
    scoring: ScoringProcess,
    make_job: Callable[..., LocalJob],
    design: str,
) -> None:
    """Killed (SIGKILL) while records arrive at rate, so the killed job leaves a Kafka transaction open
    on the output partitions (checked): the restored job must abort it -- else read_committed readers
    stall until the broker's transaction timeout (15 min, far beyond the proof's 240 s) -- and score
    everything exactly once."""
    job = make_job(scoring.url, design=design)
    outputs = [topics.scores, topics.alerts, topics.dlq]

    def kill_and_restore(produce_rest: Callable[[], None]) -> None:
        job.checkpoint_after(time.time(), timeout_s=60)
        producer = threading.Thread(target=produce_rest)  # records keep arriving through the kill
        producer.start()
        # Kill the moment an output partition holds records of a transaction not yet committed, not after a
        # fixed sleep, nor after asking the broker's transaction tool (a JVM: seconds; the clean-clone runs of
        # 1 Dec saw the job's transaction Ongoing, then committed before the kill landed, on a quiet machine).
        with OpenOutput(kafka, outputs) as open_partitions:
            deadline = time.monotonic() + 60
            while not open_partitions():
                assert time.monotonic() < deadline, "no output partition ever held uncommitted records"
                time.sleep(0.01)
            job.stop(hard=True)
            left_open = open_partitions()
        assert left_open, "the kill was meant to leave a transaction open (the condition this test is about)"
        producer.join(120)
        checkpoint = latest_checkpoint(job.log.parent / "checkpoints")
        assert checkpoint is not None
        job.start(restore_from=checkpoint)

    # The second half over ~10 s (5 checkpoint intervals): every interval writes, so an open transaction
    # is there to be seen and killed.
    run_scenario(kafka, topics, job, kill_and_restore, rest_rate=RATE / 10)


def test_counting_proof_when_the_broker_restarts(
    kafka: str, topics: Topics, scoring: ScoringProcess, make_job: Callable[..., LocalJob], stack_settings: Settings
) -> None:
    job = make_job(scoring.url, design="batch")
    connected = threading.Event()

    def restart_broker(produce_rest: Callable[[], None]) -> None:
        producer = threading.Thread(target=produce_rest)  # keeps producing through the outage (it retries)
        producer.start()
        # the outage must hit a producer that is streaming: one still connecting fails after 10 s by design
        # (lfd produce against no broker), which on a slow machine a fixed 0.3 s sleep did not rule out
        assert connected.wait(60), "the second producer did not reach the broker within 60 s"
        time.sleep(0.3)
        assert KAFKA.stop(stack_settings), "the broker was not running under the stack's pid file"
        time.sleep(3)
        KAFKA.start(stack_settings)
        producer.join(120)

    try:
        run_scenario(kafka, topics, job, restart_broker, rest_connected=connected)
    finally:
        KAFKA.start(stack_settings)  # leave the shared broker up for other tests


def kafka_timestamps(kafka: str, topic: str, expect: int, timeout_s: float = 60.0) -> dict[str, int]:
    """Key → Kafka record timestamp (ms since the epoch, as the broker stores it) of ``topic``'s records."""
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": kafka, "group.id": f"ts-{uuid.uuid4().hex[:8]}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})  # fmt: skip
    consumer.subscribe([topic])
    out: dict[str, int] = {}
    deadline = time.monotonic() + timeout_s
    try:
        while len(out) < expect and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            out[(msg.key() or b"").decode()] = msg.timestamp()[1]
    finally:
        consumer.close()
    return out


def test_event_time_is_the_kafka_timestamp_whatever_the_time_zone_of_the_job(
    kafka: str, topics: Topics, scoring: ScoringProcess, make_job: Callable[..., LocalJob]
) -> None:
    """The job's process in a zone 5:30 ahead of UTC (a pod's TZ is not the job's to choose): every score's
    ``event_time_ms`` is its input record's Kafka timestamp, to the millisecond. Without the job pinning its
    table session to UTC, PyFlink handed the batch design's UDF the timestamp shifted by the zone's offset:
    every event_time_ms was 19,800,000 ms early and event_to_score_ms 5.5 h (measured, issue 11)."""
    job = make_job(scoring.url, design="batch", env={"TZ": "Asia/Kolkata"})
    job.start()
    job.checkpoint_after(0, timeout_s=600)
    run_id = topics.transactions.removesuffix("-transactions")
    planned = list(p.plan_records(p.load_rows(), count=200, fraud_ratio=0.2, malformed_share=0, run_id=run_id))
    sent = p.send(kafka, topics.transactions, iter(planned), rate=RATE, run_id=run_id).sent
    stamps = kafka_timestamps(kafka, topics.transactions, expect=sent)
    scores = read_topic(kafka, topics.scores, expect=sent, timeout_s=240, idle_s=3)
    assert len(stamps) == len(scores) == sent, (len(stamps), len(scores), job.log_tail())
    offsets = Counter(s["event_time_ms"] - stamps[s["id"]] for s in scores)
    assert offsets == {0: sent}, f"event_time_ms - Kafka timestamp (ms): {offsets.most_common(3)}"
