"""The PyFlink job. ``--design batch`` (default) runs :mod:`lfd.streaming.batch_job` (Table API, one
vectorised UDF, one sink); ``--design async`` runs the first design, wired here: KafkaSource
(read_committed) → parse (DLQ side output) → async per-record scoring → KafkaSinks (EXACTLY_ONCE),
kept as the benchmark's baseline. Run with the streaming environment:

    .venv-streaming/bin/python -m lfd.streaming.job --bootstrap 127.0.0.1:19092 --scoring-url http://127.0.0.1:3000

``build_pipeline(env, source, sinks, config)`` takes the source stream and sink attachers, so tests
and the Kubernetes entry point wire the same graph.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pyflink.common import Configuration, Time, Types, WatermarkStrategy
from pyflink.common.serialization import ByteArraySchema, SimpleStringSchema
from pyflink.datastream import (
    AsyncDataStream,
    CheckpointingMode,
    DataStream,
    ExternalizedCheckpointRetention,
    StreamExecutionEnvironment,
)
from pyflink.datastream.connectors.base import DeliveryGuarantee
from pyflink.datastream.connectors.kafka import (
    KafkaOffsetResetStrategy,
    KafkaOffsetsInitializer,
    KafkaRecordSerializationSchema,
    KafkaSink,
    KafkaSource,
)

from lfd.streaming import config as cfg
from lfd.streaming.functions import (
    ALERT_TAG,
    DLQ_TAG,
    SCORED_TYPE,
    ParseFunction,
    RouteFunction,
    ScoreFunction,
    ShadowScoreFunction,
)

#: Output names; ``sinks`` maps each to a function attaching a sink to that stream.
OUTPUTS = ("scores", "alerts", "dlq", "shadow")
SinkAttacher = Callable[[DataStream], Any]


def build_pipeline(
    env: StreamExecutionEnvironment,
    source: DataStream,
    sinks: Mapping[str, SinkAttacher],
    config: cfg.StreamConfig,
) -> dict[str, DataStream]:
    """Wire parse → score → route onto ``source`` (a stream of raw record bytes); return the outputs."""
    parsed = source.process(ParseFunction(config), output_type=Types.STRING()).name("parse")
    scored = AsyncDataStream.unordered_wait(
        parsed,
        ScoreFunction(config),
        Time.milliseconds(int(config.async_timeout_s * 1000)),
        capacity=config.max_in_flight,
        output_type=SCORED_TYPE,
    ).name("score")
    routed = scored.process(RouteFunction(config), output_type=Types.STRING()).name("route")
    outputs = {
        "scores": routed,
        "alerts": routed.get_side_output(ALERT_TAG),
        "dlq": parsed.get_side_output(DLQ_TAG).union(routed.get_side_output(DLQ_TAG)),
    }
    if config.shadow_url:
        outputs["shadow"] = AsyncDataStream.unordered_wait(
            parsed,
            ShadowScoreFunction(config),
            Time.milliseconds(int(config.request_timeout_s * 1000 * (config.shadow_max_attempts + 2))),
            capacity=config.max_in_flight,
            output_type=Types.STRING(),
        ).name("shadow-score")
    for name, stream in outputs.items():
        if name in sinks:
            sinks[name](stream)
    return outputs


def kafka_source(config: cfg.StreamConfig) -> KafkaSource:
    offsets = {
        "earliest": KafkaOffsetsInitializer.earliest(),
        "latest": KafkaOffsetsInitializer.latest(),
    }.get(config.starting_offsets, KafkaOffsetsInitializer.committed_offsets(KafkaOffsetResetStrategy.EARLIEST))
    return (
        KafkaSource.builder()
        .set_bootstrap_servers(config.bootstrap)
        .set_topics(config.input_topic)
        .set_group_id(config.group_id)
        .set_starting_offsets(offsets)
        .set_value_only_deserializer(ByteArraySchema())
        .set_property("isolation.level", "read_committed")
        .set_property("partition.discovery.interval.ms", "10000")
        .build()
    )


def kafka_sink(config: cfg.StreamConfig, topic: str, name: str) -> KafkaSink:
    serializer = (
        KafkaRecordSerializationSchema.builder()
        .set_topic(topic)
        .set_value_serialization_schema(SimpleStringSchema())
        .build()
    )
    return (
        KafkaSink.builder()
        .set_bootstrap_servers(config.bootstrap)
        .set_record_serializer(serializer)
        .set_delivery_guarantee(DeliveryGuarantee.EXACTLY_ONCE)
        # one prefix per sink and per job: two producers sharing a transactional id fence each other
        .set_transactional_id_prefix(f"{config.transactional_id_prefix}-{name}")
        .set_property("transaction.timeout.ms", str(config.transaction_timeout_ms))
        .build()
    )


def kafka_sinks(config: cfg.StreamConfig) -> dict[str, SinkAttacher]:
    topics = {
        "scores": config.scores_topic,
        "alerts": config.alerts_topic,
        "dlq": config.dlq_topic,
        "shadow": config.shadow_topic,
    }

    def attacher(name: str, topic: str) -> SinkAttacher:
        return lambda stream: stream.sink_to(kafka_sink(config, topic, name)).name(f"sink-{name}")

    return {name: attacher(name, topic) for name, topic in topics.items()}


def as_uri(path: str) -> str:
    """Local paths become file:// URIs; s3://, gs://, file:// ... pass through."""
    return path if "://" in path else Path(path).resolve().as_uri()


def flink_configuration(config: cfg.StreamConfig, connector_jar: str | None) -> Configuration:
    conf = Configuration()
    if connector_jar:
        conf.set_string("pipeline.jars", Path(connector_jar).resolve().as_uri())
    conf.set_string("python.executable", sys.executable)
    conf.set_string("python.client.executable", sys.executable)
    if config.checkpoint_dir:  # empty: the cluster's configuration decides (Kubernetes)
        conf.set_string("execution.checkpointing.dir", as_uri(config.checkpoint_dir))
    conf.set_string("python.fn-execution.bundle.time", str(config.bundle_time_ms))
    conf.set_string("python.fn-execution.bundle.size", str(config.bundle_size))
    conf.set_string("restart-strategy.type", "exponential-delay")
    conf.set_string("restart-strategy.exponential-delay.initial-backoff", "1 s")
    conf.set_string("restart-strategy.exponential-delay.max-backoff", "10 s")
    conf.set_string("restart-strategy.exponential-delay.attempts-before-reset-backoff", "1000000")
    if config.restore_from:
        conf.set_string("execution.state-recovery.path", as_uri(config.restore_from))
    return conf


def create_environment(config: cfg.StreamConfig, connector_jar: str | None) -> StreamExecutionEnvironment:
    env = StreamExecutionEnvironment.get_execution_environment(flink_configuration(config, connector_jar))
    env.set_parallelism(config.parallelism)
    env.enable_checkpointing(config.checkpoint_interval_ms, CheckpointingMode.EXACTLY_ONCE)
    checkpoints = env.get_checkpoint_config()
    checkpoints.set_externalized_checkpoint_retention(ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION)
    checkpoints.set_tolerable_checkpoint_failure_number(1_000_000)  # a stalled service must not fail the job
    checkpoints.set_min_pause_between_checkpoints(max(config.checkpoint_interval_ms // 4, 200))
    return env


def run(config: cfg.StreamConfig, connector_jar: str | None) -> None:
    env = create_environment(config, connector_jar)
    if config.design == "batch":
        from lfd.streaming import batch_job

        batch_job.run(config, env)
        return
    source = env.from_source(
        kafka_source(config), WatermarkStrategy.no_watermarks(), "transactions", Types.PRIMITIVE_ARRAY(Types.BYTE())
    )
    build_pipeline(env, source, kafka_sinks(config), config)
    env.execute("lfd-streaming")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lfd.streaming.job", description=__doc__)
    cfg.add_arguments(parser)
    parser.add_argument("--connector-jar", default=os.environ.get("LFD_FLINK_CONNECTOR_JAR"))
    args = parser.parse_args(argv)
    run(cfg.from_args(args), args.connector_jar)
    return 0


if __name__ == "__main__":
    sys.exit(main())
