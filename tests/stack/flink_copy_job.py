"""A minimal PyFlink job for the stack smoke test: copy a Kafka topic to another, upper-casing values.

Run with the streaming environment: python flink_copy_job.py BOOTSTRAP SOURCE_TOPIC SINK_TOPIC JAR COUNT
It stops by itself after COUNT records (bounded source)."""

from __future__ import annotations

import sys

from pyflink.common import Types, WatermarkStrategy
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.datastream.connectors.base import DeliveryGuarantee
from pyflink.datastream.connectors.kafka import (
    KafkaOffsetsInitializer,
    KafkaRecordSerializationSchema,
    KafkaSink,
    KafkaSource,
)


def main(bootstrap: str, source_topic: str, sink_topic: str, jar: str) -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.add_jars(f"file://{jar}")
    env.set_parallelism(1)
    source = (
        KafkaSource.builder()
        .set_bootstrap_servers(bootstrap)
        .set_topics(source_topic)
        .set_group_id("flink-smoke")
        .set_starting_offsets(KafkaOffsetsInitializer.earliest())
        .set_bounded(KafkaOffsetsInitializer.latest())
        .set_value_only_deserializer(SimpleStringSchema())
        .build()
    )
    sink = (
        KafkaSink.builder()
        .set_bootstrap_servers(bootstrap)
        .set_record_serializer(
            KafkaRecordSerializationSchema.builder()
            .set_topic(sink_topic)
            .set_value_serialization_schema(SimpleStringSchema())
            .build()
        )
        .set_delivery_guarantee(DeliveryGuarantee.AT_LEAST_ONCE)
        .build()
    )
    stream = env.from_source(source, WatermarkStrategy.no_watermarks(), "kafka-source")
    stream.map(lambda v: v.upper(), output_type=Types.STRING()).sink_to(sink)
    env.execute("lfd-flink-smoke")


if __name__ == "__main__":
    main(*sys.argv[1:5])
