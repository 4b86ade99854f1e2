"""The batched job's SQL: the Kafka source and sink tables and the one INSERT (pure string builders).

Source: the Kafka key (raw bytes), value (raw bytes) and record timestamp (event time), read with
``read_committed``. Sink: one exactly-once Kafka table whose writable ``topic`` metadata column routes
each row to `scores`, `fraud-alerts`, `transactions-dlq` or `scores-shadow` -- one transactional
producer per subtask instead of one per topic, and the input's key on every output.
"""

from __future__ import annotations

from typing import Final

from lfd.streaming.config import StreamConfig

SOURCE_TABLE: Final = "lfd_transactions"
SINK_TABLE: Final = "lfd_outputs"
UDF_NAME: Final = "score_batch"
#: The UDF's result row: up to three (topic, value) pairs per input record (see batch.Outputs).
OUTPUT_FIELDS: Final = ("t0", "v0", "t1", "v1", "t2", "v2")

_STARTUP: Final = {
    "earliest": {"scan.startup.mode": "earliest-offset"},
    "latest": {"scan.startup.mode": "latest-offset"},
    "committed-or-earliest": {"scan.startup.mode": "group-offsets", "properties.auto.offset.reset": "earliest"},
}


def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _options(options: dict[str, str]) -> str:
    return ",\n  ".join(f"{literal(k)} = {literal(v)}" for k, v in options.items())


def source_options(config: StreamConfig) -> dict[str, str]:
    if config.starting_offsets not in _STARTUP:
        raise ValueError(f"starting_offsets: must be one of {', '.join(_STARTUP)}, got {config.starting_offsets!r}")
    return {
        "connector": "kafka",
        "topic": config.input_topic,
        "properties.bootstrap.servers": config.bootstrap,
        "properties.group.id": config.group_id,
        "properties.isolation.level": "read_committed",
        "scan.topic-partition-discovery.interval": "10 s",
        **_STARTUP[config.starting_offsets],
        "key.format": "raw",
        "key.fields": "k",
        "value.format": "raw",
        "value.fields-include": "EXCEPT_KEY",
    }


def sink_topics(config: StreamConfig) -> list[str]:
    return list(dict.fromkeys([config.scores_topic, config.alerts_topic, config.dlq_topic, config.shadow_topic]))


def sink_options(config: StreamConfig) -> dict[str, str]:
    return {
        "connector": "kafka",
        "topic": ";".join(sink_topics(config)),
        "properties.bootstrap.servers": config.bootstrap,
        "properties.transaction.timeout.ms": str(config.transaction_timeout_ms),
        "sink.delivery-guarantee": "exactly-once",
        # one prefix per job: two producers sharing a transactional id fence each other
        "sink.transactional-id-prefix": f"{config.transactional_id_prefix}-out",
        "key.format": "raw",
        "key.fields": "k",
        "value.format": "raw",
        "value.fields-include": "EXCEPT_KEY",
    }


def source_ddl(config: StreamConfig) -> str:
    return (
        f"CREATE TEMPORARY TABLE {SOURCE_TABLE} (\n"
        "  k BYTES,\n  v BYTES,\n  ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL\n"
        f") WITH (\n  {_options(source_options(config))}\n)"
    )


def sink_ddl(config: StreamConfig) -> str:
    return (
        f"CREATE TEMPORARY TABLE {SINK_TABLE} (\n"
        "  k BYTES,\n  v BYTES,\n  topic STRING METADATA\n"
        f") WITH (\n  {_options(sink_options(config))}\n)"
    )


def insert_sql() -> str:
    """The UDF runs once per row (one PythonCalc in the plan); UNNEST fans its outputs out in the JVM."""
    pairs = ", ".join(f"ROW(s.r.t{i}, s.r.v{i})" for i in range(len(OUTPUT_FIELDS) // 2))
    return (
        f"INSERT INTO {SINK_TABLE}\n"
        f"SELECT s.k, o.v, o.topic FROM (SELECT k, {UDF_NAME}(k, v, ts) AS r FROM {SOURCE_TABLE}) AS s\n"
        f"CROSS JOIN UNNEST(ARRAY[{pairs}]) AS o(topic, v)\n"
        "WHERE o.v IS NOT NULL"
    )
