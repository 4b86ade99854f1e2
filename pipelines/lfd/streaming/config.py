"""The job's configuration: one dataclass, one set of command-line flags shared by `lfd stream` and
`python -m lfd.streaming.job` (the former spawns the latter with the streaming environment)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Final

from lfd.constants import MODEL_NAME

#: The job's topics: defined here only (the local stack creates them: lfd_dev.components.kafka.TOPICS).
DEFAULT_TOPICS: Final = {
    "input_topic": "transactions",
    "scores_topic": "scores",
    "alerts_topic": "fraud-alerts",
    "dlq_topic": "transactions-dlq",
    "shadow_topic": "scores-shadow",
}


#: The job's designs: "batch" (the default: Table API, vectorised UDF, one OIP request per batch, one
#: sink) and "async" (the first design: per-record async scoring over POST /score), kept as the
#: benchmark's baseline.
DESIGNS: Final = ("batch", "async")
REASONS: Final = ("fraud", "none")


@dataclass(frozen=True)
class StreamConfig:
    #: Required: product code knows no broker (the chart passes the cluster's; `lfd stream` the local stack's).
    bootstrap: str
    scoring_url: str = "http://127.0.0.1:3000"
    shadow_url: str | None = None
    input_topic: str = DEFAULT_TOPICS["input_topic"]
    scores_topic: str = DEFAULT_TOPICS["scores_topic"]
    alerts_topic: str = DEFAULT_TOPICS["alerts_topic"]
    dlq_topic: str = DEFAULT_TOPICS["dlq_topic"]
    shadow_topic: str = DEFAULT_TOPICS["shadow_topic"]
    group_id: str = "lfd-streaming"
    transactional_id_prefix: str = "lfd-streaming"
    checkpoint_dir: str = "/tmp/lfd-checkpoints"
    checkpoint_interval_ms: int = 10_000
    restore_from: str | None = None  # a retained checkpoint (chk-N) or savepoint directory
    starting_offsets: str = "committed-or-earliest"  # or "earliest" / "latest"
    transaction_timeout_ms: int = 900_000  # 15 min, within the broker's transaction.max.timeout.ms (1 h)
    parallelism: int = 1
    batch_size: int = 500
    linger_ms: float = 5.0
    max_in_flight: int = 2_000  # async capacity: records awaiting a score before back-pressure
    request_timeout_s: float = 2.0
    async_timeout_s: float = 3_600.0  # the async operator's own timeout: effectively "wait, don't fail"
    breaker_failures: int = 5
    breaker_open_s: float = 1.0
    shadow_max_attempts: int = 3
    max_record_bytes: int = 16_384
    # How long/many records the JVM buffers before handing a bundle to the Python worker; a bundle end is
    # also a point where every in-flight score must finish. Flink's default time (1 s) favours throughput
    # over latency; 100 ms keeps event->score well under a second at low rates (docs/streaming.md).
    bundle_time_ms: int = 100
    bundle_size: int = 100_000
    design: str = "batch"
    model_name: str = MODEL_NAME
    reasons: str = "fraud"
    connection_max_age_s: float = 10.0

    def __post_init__(self) -> None:
        if self.design not in DESIGNS:
            raise ValueError(f"design: must be one of {', '.join(DESIGNS)}, got {self.design!r}")
        if self.reasons not in REASONS:
            raise ValueError(f"reasons: must be one of {', '.join(REASONS)}, got {self.reasons!r}")
        if self.batch_size < 1 or self.batch_size > self.bundle_size:
            raise ValueError(f"batch_size: must be in 1..bundle_size ({self.bundle_size}), got {self.batch_size}")


#: What each flag means, for `--help` (the dataclass stays the one place defaults live).
HELP: Final = {
    "bootstrap": "Kafka bootstrap servers",
    "scoring_url": "the active model service (a FraudModel's stable Service) that scores every record",
    "shadow_url": "optional preview service; its scores go to --shadow-topic and never affect decisions",
    "input_topic": "transactions to score (JSON, the lfd.contract wire format, keyed by id)",
    "scores_topic": "every scored transaction: probability, decision, model, reasons, times",
    "alerts_topic": "transactions decided fraud",
    "dlq_topic": "malformed records with their original bytes and the reason",
    "shadow_topic": "shadow scores from --shadow-url",
    "group_id": "consumer group of the Kafka source",
    "transactional_id_prefix": "prefix of the exactly-once sinks' transactional ids (unique per job)",
    "checkpoint_dir": "where checkpoints are kept (retained on cancel, for restore)",
    "checkpoint_interval_ms": "checkpoint interval; output becomes visible to read_committed readers on each",
    "restore_from": "resume from this retained checkpoint (chk-N) or savepoint directory",
    "starting_offsets": "committed-or-earliest, earliest or latest (when not restoring)",
    "transaction_timeout_ms": "Kafka sink transaction timeout; at most the broker's transaction.max.timeout.ms",
    "parallelism": "Flink parallelism",
    "batch_size": "transactions per scoring request",
    "linger_ms": "how long a partial batch waits for more records",
    "max_in_flight": "records awaiting a score before the job back-pressures",
    "request_timeout_s": "timeout of one scoring request (then retry with backoff)",
    "async_timeout_s": "the async operator's own timeout: effectively 'wait, never drop'",
    "breaker_failures": "consecutive failures that open the circuit breaker",
    "breaker_open_s": "how long the open breaker waits before a trial request",
    "shadow_max_attempts": "attempts per shadow request (shadow scores are best effort)",
    "max_record_bytes": "larger input records go to the DLQ as oversized",
    "bundle_time_ms": "longest time the JVM buffers records before the Python worker gets them (latency bound)",
    "bundle_size": "most records per bundle handed to the Python worker",
    "design": "batch (vectorised UDF, one OIP v2 binary request per batch) or async (per-record, the old design)",
    "model_name": "the model name OIP requests address (batch design)",
    "reasons": "fraud: alerts carry exact TreeSHAP reasons; none: no reasons (batch design)",
    "connection_max_age_s": "scoring connections older than this are re-opened, so a blue-green switch is followed",
}


def add_arguments(parser: argparse.ArgumentParser, defaults: Mapping[str, object] | None = None) -> None:
    """One ``--kebab-case`` flag per field, defaults from the dataclass or ``defaults`` (what a caller knows,
    e.g. the local stack's broker); a field with neither is a required flag."""
    for f in fields(StreamConfig):
        default = (defaults or {}).get(f.name, f.default)
        flag = "--" + f.name.replace("_", "-")
        if default is MISSING:
            parser.add_argument(flag, dest=f.name, required=True, help=f"{HELP.get(f.name, '')} (required)")
            continue
        kind = {int: int, float: float}.get(type(default), str)
        parser.add_argument(
            flag, dest=f.name, type=kind, default=default, help=f"{HELP.get(f.name, '')} (default: {default})"
        )


def from_args(args: argparse.Namespace) -> StreamConfig:
    return StreamConfig(**{f.name: getattr(args, f.name) for f in fields(StreamConfig)})


def to_argv(config: StreamConfig) -> list[str]:
    argv: list[str] = []
    for name, value in asdict(config).items():
        if value is not None:
            argv += ["--" + name.replace("_", "-"), str(value)]
    return argv
