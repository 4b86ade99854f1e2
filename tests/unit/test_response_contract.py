"""The /score response contract (lfd.response): built by the service, read by every client through it.

The last test is the point of having one contract: change what it accepts and every reader (the streaming
job's client and records, the operator's smoke and quality analyses, the demo) refuses an answer in the
old shape. A reader that parsed the answer by hand would keep accepting it, and this test would fail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fraud_operator.analysis import quality, smoke
from lfd import response
from lfd.streaming import records
from lfd.streaming.client import ScoringUnavailable, order_results
from lfd_dev import demo

pytestmark = pytest.mark.unit

MODEL: response.ModelRef = {"name": "fraud-detector", "version": "3"}
REASONS: list[response.Reason] = [{"feature": "V14", "value": -9.1, "contribution": 2.3}]
SENT = [{"id": "t1"}, {"id": "t2"}]


def answer() -> response.ScoreResponse:
    """What the service sends for SENT (built as scoring.engine builds it): t1 fraud, t2 legit."""
    return response.build_response(
        [response.build_result("t1", 0.97, 0.5, MODEL, REASONS), response.build_result("t2", 0.1, 0.5, MODEL, [])]
    )


def test_build_then_parse_round_trips_and_decides_at_the_threshold() -> None:
    results = response.parse_response(answer())
    assert [r["decision"] for r in results] == ["fraud", "legit"]
    assert response.decide(0.5, 0.5) == response.FRAUD and response.decide(0.49, 0.5) == response.LEGIT
    assert [r["id"] for r in response.results_for(["t2", "t1"], answer())] == ["t2", "t1"]
    assert response.build_request(SENT) == {"transactions": SENT}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": 7}, "results[0].id"),
        ({"fraud_probability": 1.5}, "results[0].fraud_probability"),
        ({"fraud_probability": float("nan")}, "results[0].fraud_probability"),
        ({"fraud_probability": True}, "results[0].fraud_probability"),
        ({"decision": "maybe"}, "results[0].decision"),
        ({"model": {"name": "m"}}, "results[0].model"),
        ({"reasons": [{"value": 1.0}]}, "results[0].reasons"),
    ],
)
def test_parse_names_the_field_and_the_rule(change: dict[str, Any], field: str) -> None:
    body = {"results": [{**response.build_result("t1", 0.2, 0.5, MODEL, []), **change}]}
    with pytest.raises(response.ResponseError) as info:
        response.parse_response(body)
    assert info.value.field == field and info.value.rule and field in str(info.value)


def test_missing_results_or_ids_are_refused() -> None:
    with pytest.raises(response.ResponseError, match="results"):
        response.parse_response({"scores": []})
    with pytest.raises(response.ResponseError, match="'t3'"):
        response.results_for(["t1", "t3"], answer())


def _streaming_job(body: Any) -> Any:
    ordered = order_results(SENT, body)
    return [records.score_record(r, event_ms=0, scored_ms=1, scoring_ms=1.0) for r in ordered]


def _smoke(body: Any) -> Any:
    if problem := smoke.check_results(SENT, body):
        raise ValueError(problem)
    return body


READERS: dict[str, Callable[[Any], Any]] = {
    "streaming client + records": _streaming_job,
    "operator smoke analysis": _smoke,
    "operator quality analysis": lambda body: quality.read_scores(SENT, body),
    "demo": lambda body: [demo.describe_result(r) for r in response.results_for(["t1"], body)],
}


@pytest.mark.parametrize("reader", READERS)
def test_every_reader_reads_what_the_service_builds(reader: str) -> None:
    assert READERS[reader](answer())


def test_readers_agree_on_the_decision() -> None:
    scores = _streaming_job(answer())
    assert [records.is_fraud(s) for s in scores] == [True, False]
    assert quality.read_scores(SENT, answer()) == ([0.97, 0.1], [True, False])
    assert "fraud" in demo.describe_result(response.results_for(["t1"], answer())[0])


@pytest.mark.parametrize("reader", READERS)
def test_a_change_to_the_contract_fails_every_reader(reader: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The contract changes (decisions become upper case); an answer in the old shape must now be refused.
    monkeypatch.setattr(response, "DECISIONS", ("FRAUD", "LEGIT"))
    with pytest.raises((response.ResponseError, ScoringUnavailable, ValueError)):
        READERS[reader](answer())
