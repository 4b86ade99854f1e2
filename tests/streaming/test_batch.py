"""Unit: the batched job's decisions -- vectorised parse agrees with the contract row for row, outputs
carry key/model/colour/times, reasons only on alerts, SQL routes every output through one sink."""

from __future__ import annotations

import base64
import json

import numpy as np
import orjson
import pytest

from lfd import oip
from lfd.contract import FEATURES
from lfd.streaming import batch, records, tables
from lfd.streaming.config import StreamConfig
from lfd.streaming.oip_client import decode_response
from lfd.streaming.produce import MALFORMED_KINDS, malformed_value

pytestmark = pytest.mark.unit

VALID = {"id": "tx-1", **{f: float(i) for i, f in enumerate(FEATURES)}}
TOPICS = batch.Topics("scores", "alerts", "dlq", "shadow")


def _raw(doc: object) -> bytes:
    return json.dumps(doc).encode()


def test_vectorised_parse_agrees_with_the_contract_on_every_malformed_kind() -> None:
    values: list[bytes | None] = [_raw(VALID)]
    values += [malformed_value(kind, {**VALID, "id": f"tx-{kind}"}) for kind in MALFORMED_KINDS]
    values += [None, _raw({**VALID, "id": "tx-int", "Amount": 3}), _raw({**VALID, "V1": True})]
    values += [_raw({**VALID, "Time": -1.0}), _raw({**VALID, "extra": 1}), _raw([1, 2]), b'{"id": "x", "V1": 1e999}']
    values += [_raw({**VALID, "id": "tx-big", "V2": 10**400})]
    # found through the real job (issue 14): the batch design's own parse crashed on deep nesting (the job
    # restarted forever) and scored a repeated key with its last value; an escaped quote in an id is valid
    values += [b"[" * 5_000 + b"]" * 5_000, _raw({**VALID, "id": "tx-dup"})[:-1] + b', "Amount": 999.0}']
    values += [_raw({**VALID, "id": 'tx-"quoted"'}), _raw({**VALID, "id": "tx-1e39", "V11": 1e39})]
    parsed = batch.parse_values(values, max_bytes=records.MAX_RECORD_BYTES)
    for i, raw in enumerate(values):
        one = records.parse_record(raw or b"", 0)
        if isinstance(one, records.Parsed):
            j = parsed.rows.index(i)
            assert parsed.ids[j] == one.transaction.id
            assert parsed.features[j].tolist() == list(one.transaction.features)
        else:
            letter = parsed.dead[i]
            assert (letter.reason, letter.field, letter.rule) == (one.reason, one.field, one.rule), (i, letter, one)
    assert sorted([*parsed.rows, *parsed.dead]) == list(range(len(values)))
    assert parsed.dead[len(values) - 5].field == "V2"  # 10**400: a contract violation, not a crash
    assert parsed.dead[len(values) - 4].rule == "not valid JSON: nested too deeply"
    assert (parsed.dead[len(values) - 3].field, parsed.dead[len(values) - 3].reason) == ("Amount", "contract_violation")
    assert parsed.dead[len(values) - 1].field == "V11"  # 1e39: beyond float32, refused here, not by the service
    assert 'tx-"quoted"' in parsed.ids
    assert parsed.features.shape == (len(parsed.rows), len(FEATURES))


def test_an_all_valid_batch_takes_the_fast_path_in_input_order() -> None:
    values = [_raw({**VALID, "id": f"tx-{i}", "Amount": float(i)}) for i in range(50)]
    parsed = batch.parse_values(values, max_bytes=16_384)
    assert parsed.rows == list(range(50)) and not parsed.dead
    assert parsed.features[:, -1].tolist() == [float(i) for i in range(50)]


def _scored(n: int, decisions: list[int], reasons: list[str] | None) -> batch.Scored:
    return batch.Scored([0.9 if d else 0.1 for d in decisions], decisions, reasons, "fraud-detector", "7", "green", 1.5)


def test_outputs_carry_key_model_colour_times_and_reasons_only_on_alerts() -> None:
    values = [_raw({**VALID, "id": "a"}), b"not json", _raw({**VALID, "id": "b"})]
    keys = [b"a", b"k-bad", b"b"]
    parsed = batch.parse_values(values, max_bytes=16_384)
    reasons = ["[]", '[{"feature":"V14","value":-9.5,"contribution":2.1}]']
    scores = batch.score_values(parsed, _scored(2, [0, 1], reasons), keys, [1_000, 0, 2_000], 3_000)
    shadow = batch.score_values(parsed, _scored(2, [0, 0], None), keys, [1_000, 0, 2_000], 3_100, shadow=True)
    out = batch.batch_outputs(3, TOPICS, parsed, scores, shadow, parsed.dead, source_topic="tx", now_ms=3_000)

    legit = orjson.loads(out[0][1] or b"")
    assert out[0][0] == "scores" and out[0][2] is None
    assert legit["model"] == {"name": "fraud-detector", "version": "7", "colour": "green"}
    assert (legit["kafka_key"], legit["event_time_ms"], legit["processing_time_ms"], legit["event_to_score_ms"]) == (
        "a",
        1_000,
        3_000,
        2_000,
    )
    assert legit["reasons"] == [] and legit["decision"] == "legit" and legit["shadow"] is False
    assert out[0][4] == "shadow" and orjson.loads(out[0][5] or b"")["shadow"] is True

    dead = orjson.loads(out[1][1] or b"")
    assert out[1][0] == "dlq" and out[1][2] is None and out[1][4] is None
    assert dead["reason"] == "not_json" and base64.b64decode(dead["original_base64"]) == b"not json"

    fraud, alert = orjson.loads(out[2][1] or b""), orjson.loads(out[2][3] or b"")
    assert out[2][2] == "alerts" and fraud["decision"] == "fraud"
    assert fraud["reasons"][0]["feature"] == "V14" and alert["top_reason"] == "V14" and alert["alert"] == "fraud"


def test_binary_request_and_json_answer_round_trip() -> None:
    matrix = np.arange(60, dtype=np.float64).reshape(2, 30)
    body, headers = oip.build_binary_request(matrix, fraud_reasons=True)
    header_length = int(headers[oip.HEADER_LENGTH])
    header = orjson.loads(body[:header_length])
    assert header["inputs"][0]["shape"] == [2, 30] and header["parameters"] == {"reasons": "fraud"}
    assert np.frombuffer(body[header_length:], dtype="<f8").reshape(2, 30).tolist() == matrix.tolist()
    answer = {
        "model_name": "fraud-detector",
        "model_version": "3",
        "parameters": {"colour": "blue"},
        "outputs": [
            {"name": "fraud_probability", "data": [0.1, 0.9]},
            {"name": "decision", "data": [0, 1]},
            {"name": "reasons", "data": ["[]", "[]"]},
        ],
    }
    scored = decode_response(orjson.dumps(answer), 2, 1.0)
    assert (scored.colour, scored.model_version, scored.decision) == ("blue", "3", [0, 1])


def test_an_answer_for_the_wrong_number_of_rows_is_unavailability_not_a_result() -> None:
    from lfd.streaming.client import ScoringUnavailable

    answer = {
        "model_name": "m",
        "outputs": [{"name": "fraud_probability", "data": [0.1]}, {"name": "decision", "data": [0]}],
    }
    with pytest.raises(ScoringUnavailable, match=r"one value per row sent \(2\), got 1"):
        decode_response(orjson.dumps(answer), 2, 1.0)


def test_sql_reads_key_value_time_and_writes_one_exactly_once_sink_with_a_topic_column() -> None:
    config = StreamConfig(
        bootstrap="k:9092", input_topic="in", scores_topic="s", alerts_topic="a", dlq_topic="d", shadow_topic="sh"
    )
    source, sink = tables.source_ddl(config), tables.sink_ddl(config)
    assert "METADATA FROM 'timestamp'" in source and "'properties.isolation.level' = 'read_committed'" in source
    assert "'scan.startup.mode' = 'group-offsets'" in source
    assert "topic STRING METADATA" in sink and "'topic' = 's;a;d;sh'" in sink
    assert "'sink.delivery-guarantee' = 'exactly-once'" in sink and "'key.fields' = 'k'" in sink
    assert tables.insert_sql().count(tables.UDF_NAME) == 1
    assert tables.literal("it's") == "'it''s'"


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [("design", "fast", "design: must be one of batch, async"), ("reasons", "all", "reasons: must be one of")],
)
def test_config_names_the_field_and_rule(field: str, value: str, rule: str) -> None:
    with pytest.raises(ValueError, match=rule):
        StreamConfig(bootstrap="k:9092", **{field: value})  # type: ignore[arg-type]
