"""Unit: the scoring client's failure policy and the batcher, over an in-process fake HTTP transport."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from lfd import response
from lfd.streaming.client import Batcher, ScoringClient, ScoringRejected, ScoringUnavailable, order_results, score_url
from lfd.streaming.resilience import Backoff, BreakerState, CircuitBreaker

pytestmark = pytest.mark.unit


class FakeService:
    """Answers `/score` like the real API; ``plan`` is a list of status codes to answer first."""

    def __init__(self, plan: list[int] | None = None, reject_ids: set[str] | None = None) -> None:
        self.plan = list(plan or [])
        self.reject_ids = reject_ids or set()
        self.batches: list[int] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        records = json.loads(request.content)["transactions"]
        if self.plan:
            return httpx.Response(self.plan.pop(0), text="planned failure")
        if any(r["id"] in self.reject_ids for r in records):
            return httpx.Response(422, text="field 'Amount': must be >= 0")
        self.batches.append(len(records))
        results = [
            response.build_result(r["id"], 0.9, 0.5, {"name": "m", "version": "1"}, [])
            for r in reversed(records)  # order must not matter
        ]
        return httpx.Response(200, json=response.build_response(results))


class Recorder:
    def __init__(self) -> None:
        self.retries = 0
        self.requests = 0
        self.states: list[BreakerState] = []

    def on_request(self, records: int, seconds: float) -> None:
        self.requests += 1

    def on_retry(self, error: str) -> None:
        self.retries += 1

    def on_breaker(self, state: BreakerState) -> None:
        self.states.append(state)


def make_client(service: FakeService, listener: Recorder, **kwargs: Any) -> ScoringClient:
    clock = [0.0]

    async def fake_sleep(seconds: float) -> None:
        clock[0] += seconds
        await asyncio.sleep(0)

    return ScoringClient(
        url="http://scoring",
        backoff=Backoff(initial_s=0.1, maximum_s=1.0, jitter=0.0),
        breaker=CircuitBreaker(failure_threshold=2, open_s=5.0),
        listener=listener,
        clock=lambda: clock[0],
        sleep=fake_sleep,
        http=httpx.AsyncClient(transport=httpx.MockTransport(service)),
        **kwargs,
    )


def records(n: int) -> list[dict[str, Any]]:
    return [{"id": f"tx-{i}", "Amount": 1.0} for i in range(n)]


def test_score_url_accepts_base_or_full_url() -> None:
    assert score_url("http://a:3000/") == "http://a:3000/score"
    assert score_url("http://a:3000/score") == "http://a:3000/score"


def test_outage_is_retried_until_the_service_answers_and_the_breaker_recovers() -> None:
    service = FakeService(plan=[503, 503, 503, 500])
    listener = Recorder()
    results = asyncio.run(make_client(service, listener).score(records(3)))
    assert [r["id"] for r in results] == ["tx-0", "tx-1", "tx-2"]
    assert listener.retries == 4
    assert BreakerState.OPEN in listener.states and listener.states[-1] is BreakerState.CLOSED


def test_transport_errors_are_retried() -> None:
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] < 3:
            raise httpx.ConnectError("connection refused")
        return FakeService()(request)

    listener = Recorder()
    client = make_client(FakeService(), listener)
    client.http = httpx.AsyncClient(transport=httpx.MockTransport(flaky))
    assert len(asyncio.run(client.score(records(2)))) == 2
    assert listener.retries == 2


def test_bounded_client_gives_up() -> None:
    client = make_client(FakeService(plan=[503] * 10), Recorder(), max_attempts=3)
    with pytest.raises(ScoringUnavailable):
        asyncio.run(client.score(records(1)))


def test_4xx_is_a_rejection_not_retried() -> None:
    listener = Recorder()
    with pytest.raises(ScoringRejected) as info:
        asyncio.run(make_client(FakeService(reject_ids={"tx-0"}), listener).score(records(1)))
    assert info.value.status == 422 and listener.retries == 0


def test_body_without_a_result_per_id_is_unavailable() -> None:
    with pytest.raises(ScoringUnavailable, match="tx-1"):
        only_tx0 = response.build_result("tx-0", 0.1, 0.5, {"name": "m", "version": "1"}, [])
        order_results(records(2), response.build_response([only_tx0]))
    with pytest.raises(ScoringUnavailable):
        order_results(records(1), ["not", "a", "dict"])
    with pytest.raises(ScoringUnavailable, match="fraud_probability"):  # a result that breaks the contract
        order_results(records(1), {"results": [{"id": "tx-0"}]})


def test_batcher_groups_concurrent_submits_and_isolates_rejected_records() -> None:
    service = FakeService(reject_ids={"tx-7"})
    client = make_client(service, Recorder())

    async def run() -> list[Any]:
        batcher = Batcher(client.score, max_batch=4, linger_s=0.01)
        return await asyncio.gather(*(batcher.submit(r) for r in records(10)), return_exceptions=True)

    outcomes = asyncio.run(run())
    rejected = [i for i, o in enumerate(outcomes) if isinstance(o, ScoringRejected)]
    assert rejected == [7]
    assert all(o["id"] == f"tx-{i}" for i, o in enumerate(outcomes) if i != 7)
    # batches of 4 (tx-0..3), then 4..7 rejected → singles, then the last 2
    assert service.batches[0] == 4 and sorted(service.batches[1:]) == [1, 1, 1, 2]
