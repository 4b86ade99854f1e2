"""Where event→score goes over time: one batched job, one input rate, event→score per second of input.

The benchmark (bench/streaming.py) gives one p50/p99 per rate; this probe prints, per second of event
time, how many records were produced, their event→score p50/max, and how long the same records took to
become readable in the *input* topic by a read_committed consumer (Kafka's own share). First seconds vs
steady state tells a start-up backlog from a constant floor.

    source /work/wt/ports-issueN.env && .venv/bin/python bench/streaming_timeline.py --rate 1000 --seconds 30
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from lfd.streaming import produce as p
from lfd.streaming.config import StreamConfig
from lfd_dev import manager
from lfd_dev.components.kafka import ensure_topics
from lfd_dev.scoring_process import ScoringProcess
from lfd_dev.settings import load_settings
from lfd_dev.streaming_job import LocalJob


class Reader(threading.Thread):
    """Reads ``topic`` from the start; per record: (Kafka timestamp ms, wall ms when read, parsed value)."""

    def __init__(self, bootstrap: str, topic: str, isolation: str, parse: bool) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.isolation, self.parse = bootstrap, topic, isolation, parse
        self.rows: list[tuple[int, float, Any]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        from confluent_kafka import Consumer

        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": f"tl-{uuid.uuid4().hex[:6]}",
                             "isolation.level": self.isolation, "auto.offset.reset": "earliest",
                             "fetch.wait.max.ms": 10})  # fmt: skip
        from confluent_kafka import TopicPartition

        # assign, not subscribe: a group join would delay the first reads and look like Kafka's latency
        partitions = consumer.list_topics(self.topic, timeout=10).topics[self.topic].partitions
        consumer.assign([TopicPartition(self.topic, n, 0) for n in partitions])  # offset 0 = the beginning
        while not self.stop.is_set():
            for msg in consumer.consume(5000, 0.05):
                if msg.error():
                    continue
                now = time.time() * 1000
                value = orjson.loads(msg.value() or b"null") if self.parse else None
                self.rows.append((msg.timestamp()[1], now, value))
        consumer.close()


def q(values: list[float], pct: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--bundle-time-ms", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--checkpoint-ms", type=int, default=5000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--parallelism", type=int, default=1, help="Flink parallelism (<= --partitions)")
    parser.add_argument("--warmup", type=int, default=0, help="records produced (and scored) before the timed input")
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None, help="write the per-second rows as JSON here")
    args = parser.parse_args()

    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from streaming import train_bundle  # the benchmark's own small model

    settings = load_settings()
    manager.up(settings, ["kafka", "flink"])
    work = Path(tempfile.mkdtemp(prefix="lfd-timeline-"))
    model_dir = args.model_dir or train_bundle(work / "bundle")
    service = ScoringProcess(["--model-dir", str(model_dir)], work / "scoring.log").start_ready(timeout_s=300)
    prefix = f"tl-{uuid.uuid4().hex[:6]}"
    ensure_topics(settings, {f"{prefix}-transactions": args.partitions, f"{prefix}-scores": 4,
                             f"{prefix}-alerts": 1, f"{prefix}-dlq": 1})  # fmt: skip
    config = StreamConfig(
        bootstrap=settings.kafka_bootstrap, scoring_url=service.url, input_topic=f"{prefix}-transactions",
        scores_topic=f"{prefix}-scores", alerts_topic=f"{prefix}-alerts", dlq_topic=f"{prefix}-dlq",
        group_id=prefix, transactional_id_prefix=prefix, checkpoint_dir=str(work / "checkpoints"),
        checkpoint_interval_ms=args.checkpoint_ms, starting_offsets="earliest", batch_size=args.batch_size,
        bundle_time_ms=args.bundle_time_ms, parallelism=args.parallelism,
    )  # fmt: skip
    job = LocalJob(config, settings.streaming_python, settings.flink_connector_jar, work / "job.log")
    inputs = Reader(settings.kafka_bootstrap, config.input_topic, "read_committed", parse=False)
    scores = Reader(settings.kafka_bootstrap, config.scores_topic, "read_uncommitted", parse=True)
    job.start()
    try:
        job.checkpoint_after(0, timeout_s=600)
        inputs.start()
        scores.start()
        time.sleep(3)  # both readers assigned and fetching before the first record
        load = os.getloadavg()[0]
        if args.warmup:
            warm = p.plan_records(p.load_rows(), count=args.warmup, fraud_ratio=None, malformed_share=0,
                                  run_id=f"{prefix}-warm")  # fmt: skip
            p.send(settings.kafka_bootstrap, config.input_topic, warm, rate=args.rate, run_id="warm")
            deadline = time.monotonic() + 120
            while len(scores.rows) < args.warmup and time.monotonic() < deadline:
                time.sleep(0.2)
        run_id = f"{prefix}-run"
        count = int(args.rate * args.seconds)
        planned = list(p.plan_records(p.load_rows(), count=count, fraud_ratio=None, malformed_share=0, run_id=run_id))
        began_ms = time.time() * 1000
        p.send(settings.kafka_bootstrap, config.input_topic, planned, rate=args.rate, run_id=run_id)
        deadline = time.monotonic() + 120
        while sum(1 for r in list(scores.rows) if r[2]["id"].startswith(run_id)) < count:
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        time.sleep(1)
    finally:
        inputs.stop.set()
        scores.stop.set()
        job.stop()
        service.stop()
    ours = [r for r in scores.rows if r[2]["id"].startswith(f"{prefix}-run")]
    per_s: dict[int, dict[str, list[float]]] = {}
    for _, _, s in ours:
        b = per_s.setdefault(int((s["event_time_ms"] - began_ms) // 1000), {"e2s": [], "scoring": []})
        b["e2s"].append(float(s["event_to_score_ms"]))
        b["scoring"].append(float(s["scoring_ms"]))
    vis: dict[int, list[float]] = {}
    for ts, seen, _ in inputs.rows:
        if ts >= began_ms - 1:
            vis.setdefault(int((ts - began_ms) // 1000), []).append(seen - ts)
    rows = []
    print(f"rate {args.rate}/s, {args.seconds} s, bundle {args.bundle_time_ms} ms, batch {args.batch_size}, "
          f"parallelism {args.parallelism}, "
          f"load {load:.1f}, scored {len(ours)}/{count}")  # fmt: skip
    print(" sec  scored  e2s_p50  e2s_max  scoring_p50  input_visible_p50  input_visible_max")
    for sec in sorted(set(per_s) | set(vis)):
        b = per_s.get(sec, {"e2s": [], "scoring": []})
        v = vis.get(sec, [])
        row = {"second": sec, "scored": len(b["e2s"]), "e2s_p50": q(b["e2s"], 50), "e2s_max": max(b["e2s"], default=float("nan")),
               "scoring_p50": q(b["scoring"], 50), "visible_p50": q(v, 50), "visible_max": max(v, default=float("nan"))}  # fmt: skip
        rows.append(row)
        print(f"{sec:4d} {row['scored']:7d} {row['e2s_p50']:8.0f} {row['e2s_max']:8.0f} {row['scoring_p50']:12.1f} "
              f"{row['visible_p50']:18.0f} {row['visible_max']:18.0f}")  # fmt: skip
    all_e2s = [float(s["event_to_score_ms"]) for _, _, s in ours]
    print(f"all: p50 {q(all_e2s, 50):.0f} ms, p99 {q(all_e2s, 99):.0f} ms; job log {job.log}")
    if args.out:
        args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "load": load,
                                        "rows": rows}, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
