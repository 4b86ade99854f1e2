"""The batched job's decisions, one batch of Kafka records at a time (pure functions, numpy + orjson).

Why batches: the per-record design spent ~1 ms of Python per record (docs/streaming.md); here a batch
of up to ``--batch-size`` records is parsed with orjson, checked against the contract with numpy in
one pass, scored in one request, and turned into output records in one loop.

The contract stays the one source of truth: the vectorised check only decides which rows are
*certainly* valid (a dict of exactly the wire fields with no key repeated, ids that are short non-empty
strings, every feature an int or float within the float32 range, ``Time``/``Amount`` >= 0); every other row goes through
the per-record parser ``records.parse_record`` (and so ``lfd.contract.parse_transaction``), which either
accepts it or names the field and rule for the DLQ. (Its own parse here once crashed the job on JSON
nested 5,000 deep and scored a repeated key silently: found through the real job, issue 14.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import orjson

from lfd.contract import (
    AMOUNT_FIELD,
    FEATURES,
    FLOAT32_MAX,
    ID_FIELD,
    MAX_ID_LENGTH,
    N_FEATURES,
    TIME_FIELD,
    WIRE_FIELDS,
)
from lfd.streaming.records import (
    REASON_OVERSIZED,
    DeadLetter,
    dead_letter_json,
    parse_record,
)

_N_WIRE: Final = len(WIRE_FIELDS)
_NUMBER_TYPES: Final = frozenset({int, float})
_TIME_COL: Final = FEATURES.index(TIME_FIELD)
_AMOUNT_COL: Final = FEATURES.index(AMOUNT_FIELD)
_feature_values: Final = itemgetter(*FEATURES)  # one C call per row instead of 30 lookups


@dataclass(frozen=True)
class ParsedBatch:
    """Valid rows (``rows`` = their positions in the input batch) and the dead letters of the others."""

    rows: list[int]
    ids: list[str]
    features: npt.NDArray[np.float64]  # (len(rows), N_FEATURES), contract FEATURES order
    dead: dict[int, DeadLetter] = field(default_factory=dict)


#: Quotes in a certainly-valid record: every wire field's name and the id's value (a string). More means
#: a repeated key (orjson keeps the last one silently) or an escaped quote: the exact parser decides.
_QUOTES: Final = 2 * _N_WIRE + 2


def _exact(raw: bytes, max_bytes: int) -> tuple[str, tuple[float, ...]] | DeadLetter:
    """The verdict of the per-record parser (``records.parse_record``: repeated keys, nesting depth, NaN,
    the contract) on a row the fast check was not sure of: one parser decides what is refused, and why."""
    outcome = parse_record(raw, 0, max_bytes=max_bytes)
    if isinstance(outcome, DeadLetter):
        return outcome
    return outcome.transaction.id, outcome.transaction.features


def parse_values(values: Sequence[bytes | None], *, max_bytes: int) -> ParsedBatch:
    """Parse and validate a batch of Kafka values; never raises for any input."""
    dead: dict[int, DeadLetter] = {}
    fast_rows: list[int] = []
    fast_ids: list[str] = []
    fast_values: list[tuple[Any, ...]] = []
    slow: list[int] = []
    raws = [b"" if value is None else bytes(value) for value in values]
    for i, raw in enumerate(raws):
        if len(raw) > max_bytes:
            dead[i] = DeadLetter(
                raw, REASON_OVERSIZED, "<record>", f"record of {len(raw)} bytes exceeds {max_bytes} bytes"
            )
            continue
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError:  # also NaN/Infinity tokens and nesting beyond 1,024 levels
            slow.append(i)
            continue
        if type(document) is dict and len(document) == _N_WIRE and raw.count(b'"') == _QUOTES:
            try:
                row = _feature_values(document)
                tx_id = document[ID_FIELD]
            except KeyError:
                slow.append(i)
                continue
            if type(tx_id) is str and 0 < len(tx_id) <= MAX_ID_LENGTH and set(map(type, row)) <= _NUMBER_TYPES:
                fast_rows.append(i)
                fast_ids.append(tx_id)
                fast_values.append(row)
                continue
        slow.append(i)
    try:
        matrix = np.array(fast_values, dtype=np.float64).reshape(len(fast_values), N_FEATURES)
    except OverflowError:  # a huge integer somewhere: let the contract look at every row
        slow += fast_rows
        fast_rows, fast_ids, matrix = [], [], np.empty((0, N_FEATURES))
    # |x| <= FLOAT32_MAX is also false for NaN and ±inf; 1e39 passed a finite-only check and reached the
    # service, which refused it, so the row was dead-lettered under the wrong reason (found by issue 14)
    in_range = (np.abs(matrix) <= FLOAT32_MAX).all(axis=1)
    ok = in_range & (matrix[:, _TIME_COL] >= 0) & (matrix[:, _AMOUNT_COL] >= 0)
    if not ok.all():  # rare: a NaN/huge/negative row; the contract words the reason
        slow += [fast_rows[j] for j in np.flatnonzero(~ok).tolist()]
        keep = np.flatnonzero(ok)
        matrix = matrix[keep]
        fast_rows = [fast_rows[j] for j in keep.tolist()]
        fast_ids = [fast_ids[j] for j in keep.tolist()]
    if not slow:
        return ParsedBatch(fast_rows, fast_ids, matrix, dead)
    extra_rows, extra_ids, extra_features = [], [], []
    for i in slow:
        verdict = _exact(raws[i], max_bytes)
        if isinstance(verdict, DeadLetter):
            dead[i] = verdict
        else:  # the contract accepts what the fast check was unsure of
            extra_rows.append(i)
            extra_ids.append(verdict[0])
            extra_features.append(verdict[1])
    if extra_rows:
        matrix = np.vstack([matrix, np.array(extra_features, dtype=np.float64).reshape(-1, N_FEATURES)])
        fast_rows += extra_rows
        fast_ids += extra_ids
    return ParsedBatch(fast_rows, fast_ids, matrix, dead)


@dataclass(frozen=True)
class Scored:
    """One scoring answer for a batch: per row probability, decision (1 = fraud), reasons (fraud rows)."""

    proba: list[float]
    decision: list[int]
    reasons: list[str] | None  # per row, a JSON list ("[]" for legitimate rows), when asked for
    model_name: str
    model_version: str
    colour: str
    scoring_ms: float


@dataclass(frozen=True)
class Topics:
    scores: str
    alerts: str
    dlq: str
    shadow: str


#: One input row's outputs: up to three (topic, value) pairs, None where there is nothing to write.
Outputs = tuple[str | None, bytes | None, str | None, bytes | None, str | None, bytes | None]
_NONE3: Final = (None, None)


def score_values(
    parsed: ParsedBatch,
    scored: Scored,
    keys: Sequence[bytes | None],
    event_ms: Sequence[int],
    now_ms: int,
    *,
    shadow: bool = False,
) -> list[tuple[int, bytes, bool]]:
    """(input position, `scores` value, is fraud) for each valid row; additive fields only."""
    model = {"name": scored.model_name, "version": scored.model_version, "colour": scored.colour or None}
    out: list[tuple[int, bytes, bool]] = []
    reasons = scored.reasons
    for j, i in enumerate(parsed.rows):
        fraud = scored.decision[j] == 1
        event = event_ms[i]
        key = keys[i]
        record = {
            "id": parsed.ids[j],
            "fraud_probability": scored.proba[j],
            "decision": "fraud" if fraud else "legit",
            "model": model,
            "reasons": orjson.Fragment(reasons[j]) if reasons is not None else [],
            "kafka_key": key.decode("utf-8", "replace") if key is not None else None,
            "event_time_ms": event,
            "processing_time_ms": now_ms,
            "event_to_score_ms": now_ms - event,
            "scoring_ms": scored.scoring_ms,
            "shadow": shadow,
        }
        out.append((i, orjson.dumps(record), fraud))
    return out


def alert_value(score_value: bytes) -> bytes:
    """A `fraud-alerts` value: the score plus what an analyst needs first (rare: only fraud rows)."""
    score = orjson.loads(score_value)
    reasons = score.get("reasons") or [{}]
    return orjson.dumps({**score, "alert": "fraud", "top_reason": reasons[0].get("feature")})


def batch_outputs(
    n: int,
    topics: Topics,
    parsed: ParsedBatch,
    scores: list[tuple[int, bytes, bool]],
    shadow_scores: list[tuple[int, bytes, bool]] | None,
    dead: dict[int, DeadLetter],
    *,
    source_topic: str,
    now_ms: int,
) -> list[Outputs]:
    """Per input row, what to write: its score (+ alert when fraud, + shadow score) or its dead letter."""
    rows: list[list[Any]] = [[None, None, None, None, None, None] for _ in range(n)]
    for i, value, fraud in scores:
        rows[i][0], rows[i][1] = topics.scores, value
        if fraud:
            rows[i][2], rows[i][3] = topics.alerts, alert_value(value)
    for i, value, _ in shadow_scores or ():
        rows[i][4], rows[i][5] = topics.shadow, value
    for i, letter in dead.items():
        rows[i][0], rows[i][1] = topics.dlq, dead_letter_json(letter, source_topic=source_topic, now_ms=now_ms).encode()
    return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]
