"""The transaction contract: the single source of truth for field names, order and types.

Training, serving, streaming and the data generator all import from here, so a change to the
contract is one edit. The contract is deliberately dependency-free (standard library only): the
streaming environment (PyFlink) imports it without numpy or pandas.

A transaction on the wire is a JSON object::

    {"id": "tx-000001", "Time": 406.0, "V1": -2.31, ..., "V28": 0.01, "Amount": 0.0}

``id`` is a non-empty string of at most ``MAX_ID_LENGTH`` characters, unique per transaction and
used as the Kafka key. ``Time`` is seconds since the first transaction of the dataset, ``V1``..``V28``
are the PCA components of the ULB dataset, and ``Amount`` is in euros (>= 0). Labelled data adds
``Class`` (1 = fraud, 0 = legitimate); it is never a model input.

Policy on unknown fields: **rejected**. A field the contract does not know is more likely a typo
(``amount`` for ``Amount``) than useful data, and silently dropping it would score the wrong thing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

ID_FIELD: Final = "id"
LABEL_FIELD: Final = "Class"
TIME_FIELD: Final = "Time"
AMOUNT_FIELD: Final = "Amount"
PCA_FIELDS: Final[tuple[str, ...]] = tuple(f"V{i}" for i in range(1, 29))

#: Model inputs, in the order every model is trained and scored with.
FEATURES: Final[tuple[str, ...]] = (TIME_FIELD, *PCA_FIELDS, AMOUNT_FIELD)
N_FEATURES: Final = len(FEATURES)
#: Columns of a labelled CSV (the ULB/Kaggle layout).
LABELLED_COLUMNS: Final[tuple[str, ...]] = (*FEATURES, LABEL_FIELD)
#: Fields of a transaction on the wire (HTTP, gRPC, Kafka).
WIRE_FIELDS: Final[tuple[str, ...]] = (ID_FIELD, *FEATURES)

MAX_ID_LENGTH: Final = 128
#: Largest finite float32: every feature must stay finite once converted to FEATURE_DTYPE.
FLOAT32_MAX: Final = 3.4028234663852886e38
FEATURE_DTYPE: Final = "float32"  # what models are scored with; inputs are parsed as float64 first

#: Fraud share of the real stream vs of the dev sample, and the weight that undoes the difference
#: (see shared/data/creditcard/README.md): each legitimate row counts 7.749 times in headline metrics.
LEGIT_WEIGHT: Final = 283_253 / 36_553


#: Longest field name echoed back in an error message (a hostile name must not flood logs or responses).
MAX_SHOWN_FIELD: Final = 64


def quote_field(name: str) -> str:
    """A field name as error messages show it: ``'name'``, with ``'``, ``\\`` and non-printable characters
    escaped and a long name cut (marked ``…``), so a client-chosen name (a gRPC tensor called ``'``, a JSON
    key with a newline) can neither break the message's quoting nor flood it. Plain names read unchanged."""
    shown = name if len(name) <= MAX_SHOWN_FIELD else name[:MAX_SHOWN_FIELD]
    escaped = "".join(
        "\\" + c if c in "'\\" else c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in shown
    )
    return f"'{escaped}{'…' if len(name) > MAX_SHOWN_FIELD else ''}'"


def field_error(field: str, rule: str, index: int | None = None) -> str:
    """The one wording of a broken rule, shared by the contract, the scoring service and its clients."""
    where = f"record {index}: " if index is not None else ""
    return f"{where}field {quote_field(field)}: {rule}"


class ContractViolation(ValueError):
    """A record breaks the contract. ``field`` names the field, ``rule`` the broken rule."""

    def __init__(self, field: str, rule: str, index: int | None = None) -> None:
        self.field = field
        self.rule = rule
        self.index = index
        super().__init__(field_error(field, rule, index))


@dataclass(frozen=True, slots=True)
class Transaction:
    """One validated transaction: its id and its features in ``FEATURES`` order."""

    id: str
    features: tuple[float, ...]

    def as_dict(self) -> dict[str, Any]:
        return {ID_FIELD: self.id, **dict(zip(FEATURES, self.features, strict=True))}


def _as_finite_float(field: str, value: Any, index: int | None) -> float:
    # bool is an int subclass; True is not a meaningful amount.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ContractViolation(field, f"must be a number, got {type(value).__name__}", index)
    try:
        number = float(value)
    except OverflowError:  # JSON integers have no size limit; 10**400 has no float
        raise ContractViolation(field, "must be finite, got an integer beyond the float range", index) from None
    if not math.isfinite(number):
        raise ContractViolation(field, f"must be finite, got {number!r}", index)
    if abs(number) > FLOAT32_MAX:  # models score float32: 1e39 would become inf there (found by fuzzing)
        raise ContractViolation(
            field, f"must be within the float32 range (|x| <= {FLOAT32_MAX:.7g}), got {number!r}", index
        )
    return number


def parse_transaction(record: Mapping[str, Any], index: int | None = None, *, require_id: bool = True) -> Transaction:
    """Validate one wire record and return it as a ``Transaction``; raise ``ContractViolation``."""
    if not isinstance(record, Mapping):
        raise ContractViolation("<record>", f"must be a JSON object, got {type(record).__name__}", index)
    allowed = set(WIRE_FIELDS)
    unknown = sorted(k for k in record if k not in allowed)
    if unknown:
        raise ContractViolation(unknown[0], "unknown field (unknown fields are rejected)", index)
    tx_id = record.get(ID_FIELD)
    if tx_id is None:
        if require_id:
            raise ContractViolation(ID_FIELD, "is required", index)
        tx_id = "" if index is None else str(index)
    elif not isinstance(tx_id, str) or not tx_id or len(tx_id) > MAX_ID_LENGTH:
        raise ContractViolation(ID_FIELD, f"must be a non-empty string of at most {MAX_ID_LENGTH} characters", index)
    values: list[float] = []
    for field in FEATURES:
        if field not in record:
            raise ContractViolation(field, "is required", index)
        values.append(_as_finite_float(field, record[field], index))
    if values[-1] < 0:
        raise ContractViolation(AMOUNT_FIELD, "must be >= 0", index)
    if values[0] < 0:
        raise ContractViolation(TIME_FIELD, "must be >= 0", index)
    return Transaction(id=tx_id, features=tuple(values))


def parse_batch(records: Sequence[Mapping[str, Any]], *, max_batch: int, require_id: bool = True) -> list[Transaction]:
    """Validate a batch: non-empty, at most ``max_batch`` records, each valid, ids unique."""
    if not isinstance(records, Sequence) or isinstance(records, (str, bytes)):
        raise ContractViolation("transactions", "must be a list of transactions")
    if not records:
        raise ContractViolation("transactions", "must not be empty")
    if len(records) > max_batch:
        raise ContractViolation("transactions", f"batch of {len(records)} exceeds the maximum of {max_batch}")
    parsed = [parse_transaction(r, i, require_id=require_id) for i, r in enumerate(records)]
    seen: set[str] = set()
    for i, tx in enumerate(parsed):
        if tx.id in seen:
            raise ContractViolation(ID_FIELD, f"duplicate id {tx.id!r} in batch", i)
        seen.add(tx.id)
    return parsed


#: One real legitimate transaction from the dev data, in the wire format: the documented example of
#: the scoring API and the smoke test's first canned request, so examples are always valid requests.
EXAMPLE_TRANSACTION: dict[str, Any] = {
    "id": "tx-example-0001",
    "Time": 0.0,
    "V1": 1.191857,
    "V2": 0.266151,
    "V3": 0.16648,
    "V4": 0.448154,
    "V5": 0.060018,
    "V6": -0.082361,
    "V7": -0.078803,
    "V8": 0.085102,
    "V9": -0.255425,
    "V10": -0.166974,
    "V11": 1.612727,
    "V12": 1.065235,
    "V13": 0.489095,
    "V14": -0.143772,
    "V15": 0.635558,
    "V16": 0.463917,
    "V17": -0.114805,
    "V18": -0.183361,
    "V19": -0.145783,
    "V20": -0.069083,
    "V21": -0.225775,
    "V22": -0.638672,
    "V23": 0.101288,
    "V24": -0.339846,
    "V25": 0.16717,
    "V26": 0.125895,
    "V27": -0.008983,
    "V28": 0.014724,
    "Amount": 2.69,
}
