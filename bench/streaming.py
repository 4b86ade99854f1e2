"""`make bench-streaming`: sustained throughput and event-to-score latency of the streaming job at fixed
input rates, on real Kafka, a real Flink job (local MiniCluster, parallelism 1) and the real scoring service.

Baseline, measured side by side in the same run: the scoring service alone, called directly over HTTP
with the job's batch size (the ceiling the job could reach if Flink and Kafka cost nothing).

Writes bench/results/streaming.json and docs/bench-streaming.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from lfd.response import SCORE_PATH, build_request, results_for
from lfd.streaming import produce as p
from lfd.streaming.config import StreamConfig
from lfd_dev import manager
from lfd_dev.components.kafka import ensure_topics
from lfd_dev.scoring_process import ScoringProcess
from lfd_dev.settings import Settings, load_settings
from lfd_dev.streaming_job import LocalJob

ROOT = Path(__file__).resolve().parents[1]
BUNDLE_TIME_MS = int(
    os.environ.get("LFD_BENCH_BUNDLE_TIME_MS", "100")
)  # see docs/streaming.md: latency vs Flink's 1 s default


def train_bundle(directory: Path) -> Path:
    """A small XGBoost bundle on the real dev rows (the registry's champion may not exist yet)."""
    import numpy as np
    import xgboost as xgb

    from lfd.contract import FEATURES
    from lfd.model_bundle import BundleMetadata, ModelBundle

    rows = p.load_rows()
    x = np.array([[r.features[f] for f in FEATURES] for r in rows], dtype=np.float32)
    y = np.array([r.fraud for r in rows], dtype=np.float32)
    params = {"objective": "binary:logistic", "max_depth": 4, "eta": 0.3, "nthread": 2}
    booster = xgb.train(params, xgb.DMatrix(x, label=y, feature_names=list(FEATURES)), num_boost_round=100)
    return ModelBundle(booster, BundleMetadata(flavor="xgboost", threshold=0.5)).save(directory)


def percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan")}
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(q[49], 1), "p95": round(q[94], 1), "p99": round(q[98], 1)}


def baseline(url: str, seconds: float, batch: int, concurrency: int) -> dict[str, Any]:
    """The scoring service alone: batched POST /score from `concurrency` concurrent callers."""
    rows = p.load_rows()
    records = [{"id": f"b-{i}", **rows[i % len(rows)].features} for i in range(batch)]
    # One answer read as the job reads it (lfd.response) before timing; the timed loop does not parse.
    results_for([r["id"] for r in records], httpx.post(f"{url}{SCORE_PATH}", json=build_request(records)).json())

    async def run() -> tuple[int, list[float]]:
        done, latencies = 0, []
        deadline = time.monotonic() + seconds
        async with httpx.AsyncClient(timeout=10) as client:

            async def worker() -> None:
                nonlocal done
                while time.monotonic() < deadline:
                    began = time.perf_counter()
                    response = await client.post(f"{url}{SCORE_PATH}", json=build_request(records))
                    response.raise_for_status()
                    latencies.append((time.perf_counter() - began) * 1000)
                    done += batch

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done, latencies

    began = time.monotonic()
    done, latencies = asyncio.run(run())
    return {"records_per_s": round(done / (time.monotonic() - began)), "batch": batch,
            "concurrency": concurrency, "request_ms": percentiles(latencies)}  # fmt: skip


class VisibleLatency(threading.Thread):
    """Consumes `scores` with read_committed and records when each score became visible."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic = bootstrap, topic
        self.latencies: list[float] = []
        self.scores: list[dict[str, Any]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        from confluent_kafka import Consumer

        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": f"bench-{uuid.uuid4().hex[:6]}",
                             "isolation.level": "read_committed", "auto.offset.reset": "earliest"})  # fmt: skip
        consumer.subscribe([self.topic])
        while not self.stop.is_set():
            for msg in consumer.consume(1000, 0.2):
                if msg.error():
                    continue
                score = json.loads(msg.value() or b"null")
                self.scores.append(score)
                self.latencies.append(time.time() * 1000 - score["event_time_ms"])
        consumer.close()


def run_rate(settings: Settings, url: str, rate: int, seconds: float, work: Path, drain_s: float) -> dict[str, Any]:
    prefix = f"bench-{rate}-{uuid.uuid4().hex[:6]}"
    topics = {f"{prefix}-{t}": n for t, n in (("transactions", 4), ("scores", 4), ("alerts", 1), ("dlq", 1))}
    ensure_topics(settings, topics)
    config = StreamConfig(
        bootstrap=settings.kafka_bootstrap, scoring_url=url, input_topic=f"{prefix}-transactions",
        scores_topic=f"{prefix}-scores", alerts_topic=f"{prefix}-alerts", dlq_topic=f"{prefix}-dlq",
        group_id=prefix, transactional_id_prefix=prefix, checkpoint_dir=str(work / prefix / "checkpoints"),
        checkpoint_interval_ms=5_000, starting_offsets="earliest", batch_size=512, max_in_flight=4_000,
        bundle_time_ms=BUNDLE_TIME_MS,
    )  # fmt: skip
    job = LocalJob(config, settings.streaming_python, settings.flink_connector_jar, work / prefix / "job.log")
    job.start()
    try:
        job.checkpoint_after(0, timeout_s=180)
        watcher = VisibleLatency(settings.kafka_bootstrap, config.scores_topic)
        watcher.start()
        count = int(rate * seconds)
        planned = p.plan_records(p.load_rows(), count=count, fraud_ratio=None, malformed_share=0, run_id=prefix)
        report = p.send(settings.kafka_bootstrap, config.input_topic, planned, rate=rate, run_id=prefix)
        deadline = time.monotonic() + drain_s
        while len(watcher.scores) < count and time.monotonic() < deadline:
            time.sleep(1)
        watcher.stop.set()
        watcher.join(10)
    finally:
        job.stop()
    scores = watcher.scores
    processed = sorted(s["processing_time_ms"] for s in scores)
    span_s = (processed[-1] - processed[0]) / 1000 if len(processed) > 1 else float("nan")
    return {
        "load_average_1m": round(os.getloadavg()[0], 1),
        "target_rate": rate,
        "produced": report.sent,
        "achieved_input_rate": round(report.rate),
        "scored": len(scores),
        "complete": len(scores) == report.sent and len({s["id"] for s in scores}) == len(scores),
        "sustained_throughput": round(len(scores) / span_s) if span_s == span_s and span_s > 0 else None,
        "event_to_score_ms": percentiles([float(s["event_to_score_ms"]) for s in scores]),
        "event_to_visible_ms": percentiles(watcher.latencies),
    }


def write_markdown(result: dict[str, Any], path: Path) -> None:
    b = result["baseline"]
    lines = [
        "# Streaming benchmark",
        "",
        f"Measured {result['measured_at']} on {result['machine']} (shared with other workloads: 1-min load average "
        f"{', '.join(str(r.get('load_average_1m', '?')) for r in result['rates'])} at the end of each rate; Flink local MiniCluster, "
        f"parallelism 1, checkpoints every {result['checkpoint_interval_ms']} ms, Python bundle time "
        f"{result.get('bundle_time_ms', '?')} ms, EXACTLY_ONCE sinks). "
        f"Each rate runs {result['seconds_per_rate']} s of input. `event→score` is when the job had the score; "
        "`event→visible` is when a read_committed consumer saw it (adds the wait for the checkpoint that commits "
        "the Kafka transaction).",
        "",
        f"Baseline (same run): the scoring service alone, POST /score with batches of {b['batch']} from "
        f"{b['concurrency']} concurrent callers: **{b['records_per_s']:,} records/s** "
        f"(request p50/p99 {b['request_ms']['p50']}/{b['request_ms']['p99']} ms).",
        "",
        "| target rate/s | achieved input/s | sustained scored/s | complete | event→score p50 / p95 / p99 ms "
        "| event→visible p50 / p95 / p99 ms |",
        "|---:|---:|---:|:---:|---:|---:|",
    ]
    for r in result["rates"]:
        s, v = r["event_to_score_ms"], r["event_to_visible_ms"]
        lines.append(
            f"| {r['target_rate']:,} | {r['achieved_input_rate']:,} | {r['sustained_throughput'] or '-'} | "
            f"{'yes' if r['complete'] else 'no (' + str(r['scored']) + '/' + str(r['produced']) + ')'} | "
            f"{s['p50']} / {s['p95']} / {s['p99']} | {v['p50']} / {v['p95']} / {v['p99']} |"
        )
    lines += ["", f"Target: ≥ 10,000/s sustained with p99 event→score ≤ 500 ms. {result['verdict']}", ""]
    path.write_text("\n".join(lines))


def verdict(rates: list[dict[str, Any]]) -> str:
    ok = [r for r in rates if r["complete"] and r["event_to_score_ms"]["p99"] <= 500]
    best = max((r["target_rate"] for r in ok), default=0)
    top = max((r["sustained_throughput"] or 0 for r in rates), default=0)
    met = "MET" if best >= 10_000 else "NOT met"
    return (f"Target {met} on this machine: the highest rate held with p99 ≤ 500 ms was {best:,}/s; "
            f"peak sustained throughput {top:,}/s.")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="1000,2500,5000,10000", help="comma-separated input rates (records/s)")
    parser.add_argument("--seconds", type=float, default=15.0, help="input duration per rate")
    parser.add_argument("--drain-seconds", type=float, default=120.0, help="max wait for the backlog after input")
    parser.add_argument("--model-dir", type=Path, default=None, help="bundle to serve (default: train a small one)")
    args = parser.parse_args()

    settings = load_settings()
    manager.up(settings, ["flink"])
    work = Path(tempfile.mkdtemp(prefix="lfd-bench-streaming-"))
    model_dir = args.model_dir or train_bundle(work / "bundle")
    service = ScoringProcess(["--model-dir", str(model_dir)], work / "scoring.log").start_ready(timeout_s=120)
    url = service.url
    try:
        base = baseline(url, seconds=10, batch=512, concurrency=2)
        print(f"baseline: {base}", flush=True)
        rates = []
        for rate in (int(r) for r in args.rates.split(",")):
            result = run_rate(settings, url, rate, args.seconds, work, args.drain_seconds)
            print(json.dumps(result), flush=True)
            rates.append(result)
    finally:
        service.stop()
    result = {
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{os.cpu_count()} CPUs, {platform.machine()}, {platform.python_version()}",
        "checkpoint_interval_ms": 5_000,
        "bundle_time_ms": BUNDLE_TIME_MS,
        "seconds_per_rate": args.seconds,
        "baseline": base,
        "rates": rates,
        "verdict": verdict(rates),
    }
    (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench" / "results" / "streaming.json").write_text(json.dumps(result, indent=2) + "\n")
    write_markdown(result, ROOT / "docs" / "bench-streaming.md")
    print(result["verdict"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
