"""The labels wire format (both halves) and the tolerant scores reader."""

from __future__ import annotations

import json

import pytest

from lfd.drift.records import RecordError, label_json, parse_label, parse_score

SCORE = {
    "id": "tx-1",
    "fraud_probability": 0.93,
    "decision": "fraud",
    "model": {"name": "fraud-detector", "version": "4"},
    "reasons": [],
    "event_time_ms": 1,
    "shadow": False,
}


@pytest.mark.unit
def test_label_round_trip() -> None:
    label = parse_label(label_json("tx-1", True, 1_700_000_000_000))
    assert (label.id, label.fraud, label.label_time_ms) == ("tx-1", True, 1_700_000_000_000)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("record", "field"),
    [
        ('{"Class": 1, "label_time_ms": 5}', "id"),
        ('{"id": "", "Class": 1, "label_time_ms": 5}', "id"),
        ('{"id": "a", "Class": 2, "label_time_ms": 5}', "Class"),
        ('{"id": "a", "Class": true, "label_time_ms": 5}', "Class"),
        ('{"id": "a", "Class": 0, "label_time_ms": -1}', "label_time_ms"),
        ('{"id": "a", "Class": 0}', "label_time_ms"),
        ("[1, 2]", "<record>"),
        ("not json", "<record>"),
    ],
)
def test_bad_labels_name_the_field(record: str, field: str) -> None:
    with pytest.raises(RecordError) as caught:
        parse_label(record)
    assert caught.value.field == field


@pytest.mark.unit
def test_score_reader_keeps_the_stable_fields_and_ignores_new_ones() -> None:
    score = parse_score(json.dumps({**SCORE, "a_field_added_later": [1, 2]}))
    assert (score.id, score.probability, score.alert, score.model_version, score.shadow) == (
        "tx-1",
        0.93,
        True,
        "4",
        False,
    )
    assert parse_score(json.dumps({**SCORE, "model": {"version": 7}})).model_version == "7"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"fraud_probability": "0.9"}, "fraud_probability"),
        ({"fraud_probability": 1.5}, "fraud_probability"),
        ({"decision": "maybe"}, "decision"),
        ({"model": {"name": "x"}}, "model.version"),
        ({"model": None}, "model.version"),
        ({"id": 5}, "id"),
    ],
)
def test_bad_scores_name_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(RecordError, match=field):
        parse_score(json.dumps({**SCORE, **change}))


@pytest.mark.unit
def test_json_nested_too_deeply_is_a_rejected_record_on_every_topic() -> None:
    """5,000 levels fit in a small Kafka record and raised RecursionError, which the monitor's handler does not
    catch (found by issue 14's poison records): each parser now refuses it as a RecordError."""
    from lfd.drift.monitor import _json

    deep = b"[" * 5_000 + b"]" * 5_000
    for parse in (parse_label, parse_score, _json):
        with pytest.raises(RecordError, match="nested too deeply"):
            parse(deep)
