"""Both halves of the ``labels`` wire format, and the one tolerant reader of ``scores`` records (pure).

A label record says, days after the transaction (chargebacks), whether it was fraud::

    {"id": "tx-1f2e-00000042", "Class": 1, "label_time_ms": 1764540000000}

``scores`` / ``scores-shadow`` records are written by the streaming job (``lfd.streaming.records``);
this module reads only the fields that job promises to keep (``id``, ``fraud_probability``,
``decision``, ``model.version``, ``shadow``) and ignores the rest, so the job can add fields freely.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Final

from lfd import response
from lfd.contract import ID_FIELD, LABEL_FIELD

LABEL_TIME_FIELD: Final = "label_time_ms"
#: The topic delayed labels travel on (the local stack creates it: lfd_dev.components.kafka.TOPICS).
LABELS_TOPIC: Final = "labels"


class RecordError(ValueError):
    """A record this module cannot use; ``field`` and ``rule`` say what is wrong."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


@dataclass(frozen=True, slots=True)
class Label:
    id: str
    fraud: bool
    label_time_ms: int


@dataclass(frozen=True, slots=True)
class Score:
    id: str
    probability: float
    alert: bool  # decision == "fraud"
    model_version: str
    shadow: bool


def label_json(transaction_id: str, fraud: bool, label_time_ms: int) -> bytes:
    if not transaction_id:
        raise RecordError(ID_FIELD, "must be a non-empty string")
    record = {ID_FIELD: transaction_id, LABEL_FIELD: int(fraud), LABEL_TIME_FIELD: int(label_time_ms)}
    return json.dumps(record, separators=(",", ":")).encode()


def _document(raw: bytes | str) -> dict[str, Any]:
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RecordError("<record>", f"not valid JSON: {exc}") from exc
    except RecursionError:  # "[[[[…" 5,000 deep: would escape the monitor's handler (issue 14)
        raise RecordError("<record>", "not valid JSON: nested too deeply") from None
    if not isinstance(document, dict):
        raise RecordError("<record>", f"must be a JSON object, got {type(document).__name__}")
    return document


def _id(document: dict[str, Any]) -> str:
    value = document.get(ID_FIELD)
    if not isinstance(value, str) or not value:
        raise RecordError(ID_FIELD, "must be a non-empty string")
    return value


def parse_label(raw: bytes | str) -> Label:
    document = _document(raw)
    label = document.get(LABEL_FIELD)
    if label not in (0, 1) or isinstance(label, bool):
        raise RecordError(LABEL_FIELD, f"must be 0 or 1, got {label!r}")
    at = document.get(LABEL_TIME_FIELD)
    if not isinstance(at, int) or isinstance(at, bool) or at < 0:
        raise RecordError(LABEL_TIME_FIELD, f"must be a non-negative integer (ms since the epoch), got {at!r}")
    return Label(_id(document), bool(label), at)


def parse_score(raw: bytes | str) -> Score:
    document = _document(raw)
    probability = document.get("fraud_probability")
    if not isinstance(probability, int | float) or isinstance(probability, bool) or not math.isfinite(probability):
        raise RecordError("fraud_probability", f"must be a finite number, got {probability!r}")
    if not 0.0 <= probability <= 1.0:
        raise RecordError("fraud_probability", f"must be within [0, 1], got {probability}")
    decision = document.get("decision")
    if decision not in response.DECISIONS:
        raise RecordError("decision", f"must be one of {', '.join(response.DECISIONS)}, got {decision!r}")
    model = document.get("model")
    version = model.get("version") if isinstance(model, dict) else None
    if version is None or str(version) == "":
        raise RecordError("model.version", "must be present (which model version scored this transaction)")
    return Score(
        _id(document), float(probability), decision == response.FRAUD, str(version), bool(document.get("shadow"))
    )
