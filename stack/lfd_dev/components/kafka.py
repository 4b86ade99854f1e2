"""Kafka 4 in KRaft mode (combined broker + controller), from the Maven Central jars in the cache."""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path

from lfd.drift.records import LABELS_TOPIC
from lfd.streaming.config import DEFAULT_TOPICS
from lfd_dev import process
from lfd_dev.components.base import ProcessComponent, require
from lfd_dev.settings import Settings

#: The Flink Kafka sink's transactions may stay open up to its own timeout (default 1 h); the
#: broker refuses producers whose timeout exceeds this, so it must be at least as high.
TRANSACTION_MAX_TIMEOUT_MS = 3_600_000

#: The streaming job's topics (named in lfd.streaming.config only), with partition counts. Created by `lfd stack up`.
TOPICS: dict[str, int] = {
    DEFAULT_TOPICS["input_topic"]: 4,
    DEFAULT_TOPICS["scores_topic"]: 4,
    DEFAULT_TOPICS["alerts_topic"]: 1,
    DEFAULT_TOPICS["dlq_topic"]: 1,
    DEFAULT_TOPICS["shadow_topic"]: 4,
    LABELS_TOPIC: 4,  # delayed fraud labels (lfd replay → lfd monitor; named in lfd.drift.records)
}

LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
"""


def server_properties(settings: Settings, data_dir: Path) -> str:
    p = settings.ports
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{p.kafka_controller}",
            f"listeners=PLAINTEXT://127.0.0.1:{p.kafka},CONTROLLER://127.0.0.1:{p.kafka_controller}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{p.kafka}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={data_dir}",
            "num.partitions=4",
            "auto.create.topics.enable=false",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=4",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "transaction.state.log.num.partitions=4",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            f"transaction.max.timeout.ms={TRANSACTION_MAX_TIMEOUT_MS}",
            "group.initial.rebalance.delay.ms=0",
            "message.max.bytes=1048588",
            "",
        ]
    )


def _root(settings: Settings) -> Path:
    return settings.state / "kafka"


def _java_argv(settings: Settings, main_class: str, *args: str) -> list[str | Path]:
    libs = require(settings.kafka_libs, "Kafka jars")
    return [
        "java",
        "-Xms256m",
        "-Xmx1g",
        "-XX:+UseG1GC",
        f"-Dlog4j2.configurationFile={_root(settings) / 'log4j2.properties'}",
        "-cp",
        f"{libs}/*",
        main_class,
        *args,
    ]


def _prepare(settings: Settings) -> None:
    root = _root(settings)
    data = root / "data"
    root.mkdir(parents=True, exist_ok=True)
    props = root / "server.properties"
    props.write_text(server_properties(settings, data))
    (root / "log4j2.properties").write_text(LOG4J2.format(log=root / "kafka-internal.log"))
    if not (data / "meta.properties").exists():  # format storage on first start only
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        argv = _java_argv(settings, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(props))
        result = subprocess.run([str(a) for a in argv], capture_output=True, text=True)
        if result.returncode != 0:
            raise process.StartError(f"formatting Kafka storage failed:\n{result.stdout}{result.stderr}")


def broker_answers(settings: Settings) -> bool:
    if not process.port_open(settings.ports.kafka):
        return False
    try:
        from confluent_kafka.admin import AdminClient

        md = AdminClient({"bootstrap.servers": settings.kafka_bootstrap}).list_topics(timeout=2)
        return len(md.brokers) > 0
    except Exception:
        return False


def ensure_topics(settings: Settings, topics: dict[str, int]) -> None:
    """Create missing topics (idempotent)."""
    from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    existing = set(admin.list_topics(timeout=10).topics)
    missing = [NewTopic(t, num_partitions=n, replication_factor=1) for t, n in topics.items() if t not in existing]
    if not missing:
        return
    for topic, future in admin.create_topics(missing, operation_timeout=30).items():
        try:
            future.result()
        except Exception as exc:  # TOPIC_ALREADY_EXISTS from a concurrent creator is fine
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise process.StartError(f"creating Kafka topic {topic!r} failed: {exc}") from exc


def parse_transaction_list(text: str) -> dict[str, str]:
    """``kafka-transactions list`` output (TransactionalId, Coordinator, ProducerId, TransactionState
    columns) → {transactional id: state}."""
    rows = [line.split() for line in text.splitlines()]
    return {row[0]: row[3] for row in rows if len(row) == 4 and row[0] != "TransactionalId"}


def transactions(settings: Settings, prefix: str = "") -> dict[str, str]:
    """The broker's transactional ids starting with ``prefix`` and their states (``Ongoing`` = open: it
    holds read_committed readers of every partition it wrote to until it ends)."""
    argv = _java_argv(settings, "org.apache.kafka.tools.TransactionsCommand")
    argv = [a for a in argv if a not in ("-Xms256m", "-Xmx1g")]  # a short-lived tool, not the broker
    result = subprocess.run(
        [str(a) for a in argv] + ["--bootstrap-server", settings.kafka_bootstrap, "list"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"listing Kafka transactions failed:\n{result.stdout}{result.stderr}")
    return {t: state for t, state in parse_transaction_list(result.stdout).items() if t.startswith(prefix)}


KAFKA = ProcessComponent(
    name="kafka",
    prepare=_prepare,
    argv=lambda s: _java_argv(s, "kafka.Kafka", str(_root(s) / "server.properties")),
    ready=broker_answers,
    describe=lambda s: f"broker at {s.kafka_bootstrap}, topics: {', '.join(TOPICS)}",
    after_start=lambda s: ensure_topics(s, TOPICS),
    start_timeout=180,
)
