"""`lfd produce`: replay real dev rows (or the synthetic generator) into `transactions` at a fixed rate,
with unique ids and an optional share of malformed records of every kind.

Decide: ``plan_records`` (pure) turns rows + options into ``(key, value, kind)`` triples.
Act: ``send`` pushes them with a rate limit through an idempotent confluent-kafka producer.
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from lfd.constants import DEV_DATA
from lfd.contract import FEATURES, LABEL_FIELD
from lfd.streaming.records import MAX_RECORD_BYTES

DEV_CSV: Final = DEV_DATA
MALFORMED_KINDS: Final = ("not_json", "missing_field", "nan", "wrong_type", "oversized")
VALID: Final = "valid"


@dataclass(frozen=True)
class Row:
    features: dict[str, float]
    fraud: bool


def load_rows(path: Path = DEV_CSV) -> list[Row]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as handle:
        return [
            Row({f: float(r[f]) for f in FEATURES}, r.get(LABEL_FIELD, "0") in ("1", "1.0"))
            for r in csv.DictReader(handle)
        ]


def synthetic_rows(count: int, fraud_ratio: float, seed: int, path: Path = DEV_CSV) -> list[Row]:
    """Rows from ``lfd.synthetic.SyntheticGenerator`` fitted on the real dev rows (needs pandas: main env)."""
    import pandas as pd

    from lfd.synthetic import SyntheticGenerator

    frame = SyntheticGenerator.fit(pd.read_csv(path)).sample(count, fraud_ratio=fraud_ratio, seed=seed)
    return [
        Row({f: float(row[f]) for f in FEATURES}, bool(row[LABEL_FIELD])) for row in frame.to_dict(orient="records")
    ]


def malformed_value(kind: str, record: dict[str, Any]) -> bytes:
    """One malformed Kafka value of ``kind``, derived from a valid record (keeps its id when it can)."""
    if kind == "not_json":
        return f"this is not JSON {{id: {record['id']}".encode()
    if kind == "missing_field":
        return json.dumps({k: v for k, v in record.items() if k != "V7"}).encode()
    if kind == "nan":
        return json.dumps({**record, "V3": float("nan")}).encode()  # json.dumps writes NaN
    if kind == "wrong_type":
        return json.dumps({**record, "Amount": str(record["Amount"])}).encode()
    if kind == "oversized":
        text = json.dumps(record)
        return (text[:-1] + " " * (MAX_RECORD_BYTES + 1) + "}").encode()
    raise ValueError(f"unknown malformed kind {kind!r}; known: {', '.join(MALFORMED_KINDS)}")


def plan_records(
    rows: Sequence[Row],
    *,
    count: int,
    fraud_ratio: float | None,
    malformed_share: float,
    run_id: str,
    seed: int = 0,
) -> Iterator[tuple[str, bytes, str]]:
    """Yield ``(key, value, kind)``: unique ids ``<run_id>-<n>``; malformed kinds cycle evenly."""
    if not 0 <= malformed_share <= 1:
        raise ValueError(f"--malformed-share must be in [0, 1], got {malformed_share}")
    rng = random.Random(seed)
    frauds = [r for r in rows if r.fraud]
    legit = [r for r in rows if not r.fraud]
    every = round(1 / malformed_share) if malformed_share > 0 else 0
    kinds = 0
    for n in range(count):
        if fraud_ratio is None:
            row = rows[n % len(rows)]
        else:
            row = rng.choice(frauds if frauds and rng.random() < fraud_ratio else legit or frauds)
        record: dict[str, Any] = {"id": f"{run_id}-{n:08d}", **row.features}
        if every and n % every == every - 1:
            kind = MALFORMED_KINDS[kinds % len(MALFORMED_KINDS)]
            kinds += 1
            yield record["id"], malformed_value(kind, record), kind
        else:
            yield record["id"], json.dumps(record, separators=(",", ":")).encode(), VALID


@dataclass(frozen=True)
class ProduceReport:
    sent: int
    kinds: dict[str, int]
    seconds: float
    run_id: str

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


#: The producer sleeps only once it is this far ahead of its schedule (the rate holds on average; records go out in
#: bursts of at most rate * PACE_S, e.g. 20 at 10,000/s).
PACE_S: Final = 0.002
#: Delivery callbacks are served every this many records (each poll is a call into librdkafka).
POLL_EVERY: Final = 100


def send(
    bootstrap: str,
    topic: str,
    planned: Iterator[tuple[str, bytes, str]],
    *,
    rate: float,
    run_id: str,
    on_sent: Callable[[int], None] | None = None,
    on_connected: Callable[[], None] | None = None,
) -> ProduceReport:
    """Produce at ``rate`` records/s (0 = as fast as possible); wait until every record is acknowledged.

    ``on_connected`` is called once a broker answered, before the first record (a fault test that must hit
    the middle of the stream waits for it: until then a missing broker is an error, not an outage)."""
    from confluent_kafka import KafkaException, Producer

    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "linger.ms": 5,
            "batch.num.messages": 10_000,
            "message.max.bytes": 1_000_000,
        }
    )
    # Connect and learn the topic's partitions before the clock starts: a record's event time is stamped when
    # produce() is called, so records queued while the producer still connects (and obtains its idempotent
    # producer id) would carry its start-up as latency of whatever reads them.
    try:
        producer.list_topics(topic, timeout=10)
    except KafkaException as error:
        raise KafkaException(f"no Kafka broker answered at {bootstrap} within 10 s: {error}") from error
    if on_connected is not None:
        on_connected()
    errors: list[str] = []

    def delivered(err: Any, _msg: Any) -> None:
        if err is not None:
            errors.append(str(err))

    kinds: Counter[str] = Counter()
    began = time.monotonic()
    for n, (key, value, kind) in enumerate(planned, start=1):
        if rate > 0:
            ahead = began + n / rate - time.monotonic()
            # Pace in steps of at least PACE_S, not per record: at 10,000/s a sleep per record is a syscall
            # every 100 µs, and the producer then took most of a core that the job under test needs.
            if ahead >= PACE_S:
                time.sleep(ahead)
        while True:
            try:
                producer.produce(topic, key=key.encode(), value=value, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.05)
        if n % POLL_EVERY == 0:
            producer.poll(0)  # serve delivery callbacks; flush() below serves the rest
        kinds[kind] += 1
        if on_sent and n % 1000 == 0:
            on_sent(1000)
    if on_sent and sum(kinds.values()) % 1000:
        on_sent(sum(kinds.values()) % 1000)
    remaining = producer.flush(60)
    if remaining or errors:
        raise KafkaException(f"{remaining} records unacknowledged, {len(errors)} failed: {errors[:3]}")
    return ProduceReport(sum(kinds.values()), dict(kinds), time.monotonic() - began, run_id)


def new_run_id() -> str:
    return f"tx-{uuid.uuid4().hex[:8]}"
