"""The transaction contract: one source of truth for fields, order, types and validation rules."""

from __future__ import annotations

import math
from typing import Any

import pytest

from lfd.contract import (
    FEATURES,
    LABELLED_COLUMNS,
    LEGIT_WEIGHT,
    WIRE_FIELDS,
    ContractViolation,
    parse_batch,
    parse_transaction,
    quote_field,
)

pytestmark = pytest.mark.unit


def record(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "tx-1", **{f: 0.5 for f in FEATURES}}
    base.update(overrides)
    return base


def test_feature_order_is_time_v1_to_v28_amount() -> None:
    assert FEATURES[0] == "Time" and FEATURES[-1] == "Amount"
    assert FEATURES[1:-1] == tuple(f"V{i}" for i in range(1, 29))
    assert (*FEATURES, "Class") == LABELLED_COLUMNS
    assert ("id", *FEATURES) == WIRE_FIELDS


def test_legit_weight_matches_the_data_readme() -> None:
    assert pytest.approx(7.749, abs=1e-3) == LEGIT_WEIGHT


def test_valid_record_parses_in_contract_order() -> None:
    tx = parse_transaction(record(Amount=12, V3=-1.25))
    assert tx.id == "tx-1"
    assert tx.features[FEATURES.index("V3")] == -1.25
    assert tx.features[-1] == 12.0
    assert tx.as_dict()["Amount"] == 12.0


@pytest.mark.parametrize(
    ("overrides", "field", "rule"),
    [
        ({"Amount": -1.0}, "Amount", "must be >= 0"),
        ({"V4": "abc"}, "V4", "must be a number"),
        ({"V4": True}, "V4", "must be a number"),
        ({"V5": math.nan}, "V5", "must be finite"),
        ({"V6": math.inf}, "V6", "must be finite"),
        ({"amount": 3.0}, "amount", "unknown field"),
        ({"id": ""}, "id", "non-empty string"),
        ({"id": 7}, "id", "non-empty string"),
        ({"id": "x" * 129}, "id", "at most 128"),
    ],
)
def test_violations_name_the_field_and_the_rule(overrides: dict[str, Any], field: str, rule: str) -> None:
    with pytest.raises(ContractViolation) as err:
        parse_transaction(record(**overrides))
    assert err.value.field == field
    assert rule in err.value.rule
    assert field in str(err.value)


def test_missing_field_is_named() -> None:
    bad = record()
    del bad["V17"]
    with pytest.raises(ContractViolation, match="field 'V17': is required"):
        parse_transaction(bad)


def test_missing_id_is_allowed_only_when_not_required() -> None:
    bad = record()
    del bad["id"]
    with pytest.raises(ContractViolation, match="'id'"):
        parse_transaction(bad)
    assert parse_transaction(bad, 3, require_id=False).id == "3"


def test_non_object_record_is_rejected() -> None:
    with pytest.raises(ContractViolation, match="JSON object"):
        parse_transaction([1, 2, 3])  # type: ignore[arg-type]


def test_batch_rules() -> None:
    with pytest.raises(ContractViolation, match="must not be empty"):
        parse_batch([], max_batch=10)
    with pytest.raises(ContractViolation, match="exceeds the maximum of 2"):
        parse_batch([record(id="a"), record(id="b"), record(id="c")], max_batch=2)
    with pytest.raises(ContractViolation, match="duplicate id 'a'") as err:
        parse_batch([record(id="a"), record(id="a")], max_batch=10)
    assert err.value.index == 1
    with pytest.raises(ContractViolation, match="record 1: field 'Amount'"):
        parse_batch([record(id="a"), record(id="b", Amount=-2)], max_batch=10)
    assert [t.id for t in parse_batch([record(id="a"), record(id="b")], max_batch=10)] == ["a", "b"]


def test_the_documented_example_is_a_valid_request() -> None:
    from lfd.contract import EXAMPLE_TRANSACTION

    assert parse_transaction(EXAMPLE_TRANSACTION).id == EXAMPLE_TRANSACTION["id"]


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Amount", "'Amount'"),
        ("'", "'\\''"),  # fuzz finding: a gRPC tensor named ' made "field '''" unreadable
        ("a\\b", "'a\\\\b'"),
        ("line\nbreak", "'line\\nbreak'"),
        ("x" * 100, "'" + "x" * 64 + "…'"),
    ],
)
def test_field_names_are_quoted_so_a_hostile_name_cannot_break_the_message(name: str, shown: str) -> None:
    assert quote_field(name) == shown
    assert str(ContractViolation(name, "is bad")) == f"field {shown}: is bad"
