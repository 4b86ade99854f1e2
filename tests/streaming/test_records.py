"""Unit: every input becomes exactly one of Parsed / DeadLetter, with the field and rule named."""

from __future__ import annotations

import base64
import json

import pytest

from lfd import response
from lfd.contract import FEATURES
from lfd.streaming import records
from lfd.streaming.produce import MALFORMED_KINDS, malformed_value

pytestmark = pytest.mark.unit

VALID = {"id": "tx-1", **{f: 1.0 for f in FEATURES}}


def test_valid_record_parses_with_its_event_time() -> None:
    outcome = records.parse_record(json.dumps(VALID).encode(), 1234)
    assert isinstance(outcome, records.Parsed)
    assert outcome.transaction.id == "tx-1" and outcome.event_ms == 1234
    tx, event_ms = records.parsed_from_json(records.parsed_json(outcome))
    assert tx == VALID and event_ms == 1234


@pytest.mark.parametrize(
    ("kind", "reason", "field", "rule_part"),
    [
        ("not_json", records.REASON_NOT_JSON, "<record>", "not valid JSON"),
        ("missing_field", records.REASON_CONTRACT, "V7", "is required"),
        ("nan", records.REASON_CONTRACT, "V3", "must be finite"),
        ("wrong_type", records.REASON_CONTRACT, "Amount", "must be a number"),
        ("oversized", records.REASON_OVERSIZED, "<record>", "exceeds"),
    ],
)
def test_each_malformed_kind_is_dead_lettered_with_its_reason(
    kind: str, reason: str, field: str, rule_part: str
) -> None:
    raw = malformed_value(kind, VALID)
    outcome = records.parse_record(raw, 0)
    assert isinstance(outcome, records.DeadLetter)
    assert (outcome.reason, outcome.field) == (reason, field)
    assert rule_part in outcome.rule
    letter = json.loads(records.dead_letter_json(outcome, source_topic="transactions", now_ms=5))
    assert base64.b64decode(letter["original_base64"]) == raw
    assert letter["reason"] == reason and letter["field"] == field


def test_all_malformed_kinds_are_covered() -> None:
    assert set(MALFORMED_KINDS) == {"not_json", "missing_field", "nan", "wrong_type", "oversized"}


@pytest.mark.parametrize(
    "raw",
    [b"", b"\xff\xfe\x00", b"[]", b"null", b"42", b'{"id": 5}', b'"text"', b"{" * 5000, b'{"id":"x","Time":Infinity}'],
)
def test_parse_never_raises_and_keeps_non_utf8_bytes(raw: bytes) -> None:
    outcome = records.parse_record(raw, 0)
    assert isinstance(outcome, records.DeadLetter)
    letter = json.loads(records.dead_letter_json(outcome, source_topic="t", now_ms=0))
    assert base64.b64decode(letter["original_base64"]) == raw


def test_dead_letter_keeps_the_id_when_the_record_has_one() -> None:
    outcome = records.parse_record(malformed_value("wrong_type", VALID), 0)
    assert isinstance(outcome, records.DeadLetter) and outcome.transaction_id == "tx-1"


def test_score_and_alert_records() -> None:
    result = response.build_result(
        "tx-1",
        0.93,
        0.5,
        {"name": "fraud-detector", "version": "3"},
        [{"feature": "V14", "value": -9.1, "contribution": 0.4}],
    )
    score = records.score_record(result, event_ms=1_000, scored_ms=1_250, scoring_ms=12.3456)
    assert score["event_to_score_ms"] == 250 and score["model"]["version"] == "3" and score["shadow"] is False
    assert records.is_fraud(score)
    alert = records.alert_record(score)
    assert alert["id"] == "tx-1" and alert["top_reason"] == "V14"
    assert not records.is_fraud({**score, "decision": "legit"})
