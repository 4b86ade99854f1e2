"""The streaming job's parse and dead-letter steps on the poison records the fuzzing found (pure; the
same records go through the real job in test_kafka_poison.py)."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from lfd.contract import EXAMPLE_TRANSACTION
from lfd.streaming.records import MAX_DLQ_ORIGINAL_BYTES, DeadLetter, dead_letter_json, parse_record

pytestmark = pytest.mark.unit


def letter_of(raw: bytes) -> DeadLetter:
    letter = parse_record(raw, 0)
    assert isinstance(letter, DeadLetter), letter
    return letter


def test_deeply_nested_json_is_dead_lettered_not_raised() -> None:
    """5,000 levels fit in 16 KiB; json.loads raised RecursionError out of the parse step (job restart)."""
    letter = letter_of(b"[" * 5_000 + b"]" * 5_000)
    assert (letter.reason, letter.rule) == ("not_json", "not valid JSON: nested too deeply")


def test_a_repeated_key_is_a_contract_violation_naming_it() -> None:
    """json.loads kept the last value silently: the record was scored with Amount 999."""
    raw = json.dumps(EXAMPLE_TRANSACTION).encode()[:-1] + b', "Amount": 999.0}'
    letter = letter_of(raw)
    assert (letter.reason, letter.field) == ("contract_violation", "Amount") and "duplicate" in letter.rule


def test_a_dead_letter_of_a_1_mb_record_fits_a_kafka_message() -> None:
    """Copied whole (base64 + text, ~2.6 MB) it exceeded the DLQ producer's 1 MB limit: the sink failed
    and the job restarted forever (seen through the real job). Now a prefix, with size and hash of all."""
    raw = b'{"id": "big", "pad": "' + b"x" * 1_100_000 + b'"}'
    value = dead_letter_json(letter_of(raw), source_topic="transactions", now_ms=0)
    document = json.loads(value)
    assert len(value.encode()) < 1_000_000
    assert base64.b64decode(document["original_base64"]) == raw[:MAX_DLQ_ORIGINAL_BYTES]
    assert document["original_truncated"] is True and document["original_size"] == len(raw)
    assert document["original_sha256"] == hashlib.sha256(raw).hexdigest()


def test_a_small_dead_letter_keeps_every_byte() -> None:
    raw = b'{"id": "\xff\xfe", "Time": 1}'
    document = json.loads(dead_letter_json(letter_of(raw), source_topic="t", now_ms=0))
    assert base64.b64decode(document["original_base64"]) == raw and document["original_truncated"] is False
    assert document["original_text"] is None  # not UTF-8: base64 only
