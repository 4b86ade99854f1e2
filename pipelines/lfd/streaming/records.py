"""Decide what one input record becomes, and build every record the job writes (pure functions).

Input bytes either parse into a contract ``Transaction`` or become a DLQ record that carries the
original bytes (base64, plus the UTF-8 text when it decodes), the field and the rule it broke.
Output records are compact JSON strings (the Kafka value); the transaction id is always ``id``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any, Final

from lfd import response
from lfd.contract import ContractViolation, Transaction, parse_transaction

#: Larger records are rejected before JSON parsing: a contract record is < 1 KiB; 16 KiB leaves room
#: for long ids and formatting while keeping a hostile record from costing the job memory.
MAX_RECORD_BYTES: Final = 16_384

#: Most bytes of an original record a dead letter carries: base64 + text of 64 KiB (~150 KB) stays far
#: below Kafka's default 1 MB message limit of the DLQ topic.
MAX_DLQ_ORIGINAL_BYTES: Final = 65_536

#: Stable reason codes (the DLQ's ``reason``); ``rule`` carries the human-readable detail.
REASON_OVERSIZED: Final = "oversized"
REASON_NOT_JSON: Final = "not_json"
REASON_CONTRACT: Final = "contract_violation"
REASON_REJECTED: Final = "rejected_by_scoring_service"


@dataclass(frozen=True, slots=True)
class Parsed:
    """A valid transaction and its event time (Kafka record timestamp, ms since the epoch)."""

    transaction: Transaction
    event_ms: int


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Why a record cannot be scored: ``reason`` is a code, ``field`` and ``rule`` say what to fix."""

    original: bytes
    reason: str
    field: str
    rule: str
    transaction_id: str | None = None


def _reject_constant(name: str) -> float:
    # JSON has no NaN/Infinity; Python's json accepts them unless told otherwise. Let the contract say
    # which field is not finite instead of failing the whole document.
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of repeated keys silently: {"Amount": 1, "Amount": 999} would be scored
    # as 999 while a reader of the raw record sees 1. Refuse the ambiguity (found by fuzzing, issue 14).
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise _DuplicateKey(key)
        document[key] = value
    return document


def _guess_id(document: Any) -> str | None:
    if isinstance(document, dict) and isinstance(document.get("id"), str):
        return str(document["id"])[:128]
    return None


def parse_record(raw: bytes, event_ms: int, *, max_bytes: int = MAX_RECORD_BYTES) -> Parsed | DeadLetter:
    """Parse and validate one Kafka value; never raises for any input."""
    if len(raw) > max_bytes:
        return DeadLetter(raw, REASON_OVERSIZED, "<record>", f"record of {len(raw)} bytes exceeds {max_bytes} bytes")
    try:
        document = json.loads(raw, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        return DeadLetter(raw, REASON_NOT_JSON, "<record>", f"not valid JSON: {exc}")
    except RecursionError:  # "[[[[...": 5,000 levels fit in 16 KiB and crashed the job (found by fuzzing)
        return DeadLetter(raw, REASON_NOT_JSON, "<record>", "not valid JSON: nested too deeply")
    except _DuplicateKey as exc:
        return DeadLetter(raw, REASON_CONTRACT, exc.key, "duplicate key (each field must appear once)")
    try:
        return Parsed(parse_transaction(document), event_ms)
    except ContractViolation as exc:
        return DeadLetter(raw, REASON_CONTRACT, exc.field, exc.rule, _guess_id(document))


def _dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"), allow_nan=False)


def dead_letter_json(letter: DeadLetter, *, source_topic: str, now_ms: int) -> str:
    """The `transactions-dlq` value: original bytes (base64 and, when UTF-8, as text) + reason.

    At most ``MAX_DLQ_ORIGINAL_BYTES`` of the original are kept (then ``original_truncated`` is true;
    ``original_size`` and ``original_sha256`` always describe the whole record): a 1.1 MB poison record
    copied whole (base64 + text, ~2.6 MB) exceeded Kafka's 1 MB message limit in the DLQ sink, failing
    the job on every restart (found by fuzzing, issue 14)."""
    kept = letter.original[:MAX_DLQ_ORIGINAL_BYTES]
    try:
        text: str | None = kept.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    return _dumps(
        {
            "id": letter.transaction_id,
            "reason": letter.reason,
            "field": letter.field,
            "rule": letter.rule,
            "original_base64": base64.b64encode(kept).decode("ascii"),
            "original_text": text,
            "original_size": len(letter.original),
            "original_sha256": hashlib.sha256(letter.original).hexdigest(),
            "original_truncated": len(kept) < len(letter.original),
            "source_topic": source_topic,
            "dlq_time_ms": now_ms,
        }
    )


def parsed_json(parsed: Parsed) -> str:
    """What flows from the parse step to the scoring step (the wire record + event time)."""
    return _dumps({"tx": parsed.transaction.as_dict(), "event_ms": parsed.event_ms})


def parsed_from_json(text: str) -> tuple[dict[str, Any], int]:
    document = json.loads(text)
    return document["tx"], int(document["event_ms"])


def score_record(
    result: response.ScoreResult, *, event_ms: int, scored_ms: int, scoring_ms: float, shadow: bool = False
) -> dict[str, Any]:
    """A `scores` (or `scores-shadow`) record from one `/score` result (checked by ``lfd.response``)."""
    model = result["model"]
    return {
        "id": result["id"],
        "fraud_probability": float(result["fraud_probability"]),
        "decision": result["decision"],
        "model": {"name": model["name"], "version": model["version"]},
        "reasons": result["reasons"],
        "event_time_ms": event_ms,
        "processing_time_ms": scored_ms,
        "event_to_score_ms": scored_ms - event_ms,
        "scoring_ms": round(scoring_ms, 3),
        "shadow": shadow,
    }


def is_fraud(score: dict[str, Any]) -> bool:
    return response.is_fraud(score)


def alert_record(score: dict[str, Any]) -> dict[str, Any]:
    """A `fraud-alerts` record: the score plus what an analyst needs first."""
    return {**score, "alert": "fraud", "top_reason": (score.get("reasons") or [{}])[0].get("feature")}


def dumps(record: dict[str, Any]) -> str:
    return _dumps(record)
