"""Unit: the producer's plan (unique ids, fraud ratio, malformed kinds), config flags, the counting proof."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import pytest

from lfd.contract import FEATURES
from lfd.streaming import cli as streaming_cli
from lfd.streaming import produce as p
from lfd.streaming.config import StreamConfig, add_arguments, from_args, to_argv
from lfd.streaming.verify import reconcile
from lfd_dev.streaming_job import latest_checkpoint

pytestmark = pytest.mark.unit

ROWS = [p.Row(dict.fromkeys(FEATURES, 1.0), fraud=i % 10 == 0) for i in range(100)]


def test_plan_has_unique_ids_and_every_malformed_kind() -> None:
    planned = list(p.plan_records(ROWS, count=200, fraud_ratio=None, malformed_share=0.05, run_id="r"))
    keys = [k for k, _, _ in planned]
    assert len(set(keys)) == len(keys) == 200
    kinds = Counter(kind for _, _, kind in planned)
    assert kinds == {"valid": 190, **dict.fromkeys(p.MALFORMED_KINDS, 2)}


def test_plan_samples_the_fraud_ratio() -> None:
    rows = [p.Row({**dict.fromkeys(FEATURES, 1.0), "Amount": 999.0 if i < 5 else 1.0}, fraud=i < 5) for i in range(100)]
    planned = list(p.plan_records(rows, count=2000, fraud_ratio=0.3, malformed_share=0, run_id="r", seed=1))
    frauds = sum(1 for _, value, _ in planned if b'"Amount":999.0' in value)
    assert 0.25 < frauds / 2000 < 0.35


def test_plan_rejects_bad_share_and_unknown_kind() -> None:
    with pytest.raises(ValueError, match="malformed-share"):
        list(p.plan_records(ROWS, count=1, fraud_ratio=None, malformed_share=2, run_id="r"))
    with pytest.raises(ValueError, match="unknown malformed kind"):
        p.malformed_value("typo", {"id": "x"})


def test_config_flags_round_trip() -> None:
    config = StreamConfig(
        bootstrap="k:9092",
        scoring_url="http://s:1",
        shadow_url="http://p:2",
        checkpoint_interval_ms=2000,
        linger_ms=1.5,
    )
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert from_args(parser.parse_args(to_argv(config))) == config


def test_product_code_knows_no_broker_the_caller_does() -> None:
    """No dev-stack default in product code: the job and `lfd produce` require --bootstrap unless their caller
    (the dev CLI, with the local stack's broker) gives a default."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(SystemExit):  # argparse: "the following arguments are required: --bootstrap"
        parser.parse_args(["--scoring-url", "http://s:1"])
    local = argparse.ArgumentParser()
    add_arguments(local, defaults={"bootstrap": "127.0.0.1:1"})
    assert from_args(local.parse_args([])).bootstrap == "127.0.0.1:1"
    top = argparse.ArgumentParser()
    streaming_cli.register(top.add_subparsers())
    with pytest.raises(SystemExit):
        top.parse_args(["produce"])
    assert top.parse_args(["produce", "--bootstrap", "b:1"]).bootstrap == "b:1"


def test_reconcile_finds_duplicates_and_missing_alerts() -> None:
    scores = [{"id": "a", "decision": "fraud"}, {"id": "b", "decision": "legit"}, {"id": "b", "decision": "legit"}]
    dlq = [{"id": None, "reason": "not_json", "field": "<record>"}]
    result = reconcile(4, scores, dlq, alerts=[])
    assert not result.exact
    assert result.duplicate_ids == ["b"] and result.missing_alerts == ["a"]
    good = reconcile(3, scores[:2], dlq, alerts=[{"id": "a"}])
    assert good.exact and good.dlq_reasons == {"not_json:<record>": 1}


def test_latest_checkpoint_needs_metadata(tmp_path: Path) -> None:
    root = tmp_path
    assert latest_checkpoint(root) is None
    (root / "job" / "chk-3").mkdir(parents=True)
    assert latest_checkpoint(root) is None  # in progress: no _metadata yet
    (root / "job" / "chk-3" / "_metadata").write_text("x")
    assert latest_checkpoint(root) == root / "job" / "chk-3"


def test_send_names_the_address_when_no_broker_answers() -> None:
    """A dead broker fails before the first record, naming where it looked (not a silent 0 records/s)."""
    import socket

    from confluent_kafka import KafkaException

    with socket.socket() as closed:  # a loopback port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    address = f"127.0.0.1:{port}"
    planned = p.plan_records(ROWS, count=10, fraud_ratio=None, malformed_share=0, run_id="r")
    with pytest.raises(KafkaException, match=f"no Kafka broker answered at {address} within 10 s"):
        p.send(address, "lfd-transactions", planned, rate=0, run_id="r")
