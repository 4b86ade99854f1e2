"""The ``POST /score`` response contract: its types, how to build it, how to read it. The request side is
``lfd.contract`` (the transaction); this is the other half of the same wire format, so the service that
writes a result and every reader of one (streaming client and records, the operator's analyses, the demo,
the benchmarks) share one definition and a change here fails all their tests.

Standard library and typing only: the streaming job imports it inside the PyFlink environment, on its hot
path. Results are plain dicts typed as ``TypedDict`` (no object per record); ``parse_*`` checks the shape
once where the bytes come in and raises :class:`ResponseError` naming the field and the rule.

    {"results": [{"id": "t1", "fraud_probability": 0.97, "decision": "fraud",
                  "model": {"name": "fraud-detector", "version": "3"},
                  "reasons": [{"feature": "V14", "value": -9.1, "contribution": 2.3}, ...]}]}
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Final, Literal, TypedDict

#: The route, the request's key and the response's key.
SCORE_PATH: Final = "/score"
REQUEST_KEY: Final = "transactions"
RESULTS_KEY: Final = "results"

Decision = Literal["fraud", "legit"]
FRAUD: Final[Decision] = "fraud"
LEGIT: Final[Decision] = "legit"
DECISIONS: Final[tuple[Decision, ...]] = (FRAUD, LEGIT)


class Reason(TypedDict):
    """One reason code: a feature, its value as sent, its TreeSHAP contribution (log-odds, + = fraud)."""

    feature: str
    value: float
    contribution: float


class ModelRef(TypedDict):
    name: str
    version: str


class ScoreResult(TypedDict):
    id: str
    fraud_probability: float
    decision: Decision
    model: ModelRef
    reasons: list[Reason]


class ScoreResponse(TypedDict):
    results: list[ScoreResult]


class ResponseError(ValueError):
    """A ``/score`` answer that does not follow the contract: ``field`` and ``rule`` say what is wrong."""

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"/score response: {field} {rule}")


# --- build (the service) ---------------------------------------------------------------------------


def decide(probability: float, threshold: float) -> Decision:
    """The decision at the model's threshold: fraud from the threshold up."""
    return FRAUD if probability >= threshold else LEGIT


def build_result(
    tx_id: str, probability: float, threshold: float, model: ModelRef, reasons: list[Reason]
) -> ScoreResult:
    return {
        "id": tx_id,
        "fraud_probability": probability,
        "decision": decide(probability, threshold),
        "model": model,
        "reasons": reasons,
    }


def build_response(results: list[ScoreResult]) -> ScoreResponse:
    return {"results": results}


def build_request(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The request body for ``records`` (transactions as in ``lfd.contract``, each with an ``id``)."""
    return {REQUEST_KEY: list(records)}


# --- read (every client) ---------------------------------------------------------------------------


def parse_result(value: Any, where: str = "result") -> ScoreResult:
    """``value`` as a :class:`ScoreResult` (the same dict, checked), or :class:`ResponseError`."""
    if not isinstance(value, dict):
        raise ResponseError(where, f"must be an object, got {type(value).__name__}")
    tx_id = value.get("id")
    if not isinstance(tx_id, str):
        raise ResponseError(f"{where}.id", "must be a string")
    p = value.get("fraud_probability")
    if isinstance(p, bool) or not isinstance(p, int | float) or not (0.0 <= p <= 1.0) or math.isnan(p):
        raise ResponseError(f"{where}.fraud_probability", f"must be a number in [0, 1], got {p!r}")
    if value.get("decision") not in DECISIONS:
        raise ResponseError(f"{where}.decision", f"must be one of {DECISIONS}, got {value.get('decision')!r}")
    model = value.get("model")
    if (
        not isinstance(model, dict)
        or not isinstance(model.get("name"), str)
        or not isinstance(model.get("version"), str)
    ):
        raise ResponseError(f"{where}.model", "must be an object with string name and version")
    reasons = value.get("reasons")
    if not isinstance(reasons, list) or not all(isinstance(r, dict) and "feature" in r for r in reasons):
        raise ResponseError(f"{where}.reasons", "must be a list of {feature, value, contribution} objects")
    return value  # type: ignore[return-value]  # checked above, field by field


def parse_response(body: Any) -> list[ScoreResult]:
    """Every result of a ``/score`` answer (JSON already decoded), checked; in the service's order."""
    results = body.get(RESULTS_KEY) if isinstance(body, dict) else None
    if not isinstance(results, list):
        raise ResponseError(RESULTS_KEY, 'must be a list (the body is {"results": [...]})')
    return [parse_result(r, f"{RESULTS_KEY}[{i}]") for i, r in enumerate(results)]


def results_for(ids: Iterable[str], body: Any) -> list[ScoreResult]:
    """The checked results in the order of ``ids`` (the request's); a missing id is a :class:`ResponseError`."""
    by_id = {r["id"]: r for r in parse_response(body)}
    ordered = []
    for tx_id in ids:
        if tx_id not in by_id:
            raise ResponseError(RESULTS_KEY, f"lacks a result for id {tx_id!r}")
        ordered.append(by_id[tx_id])
    return ordered


def is_fraud(result: ScoreResult | dict[str, Any]) -> bool:
    return result.get("decision") == FRAUD
