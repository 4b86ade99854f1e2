"""Async client of the scoring service's `POST /score`: timeouts, retries with backoff, a circuit
breaker, and a batcher that turns many concurrent single-record calls into a few batched requests.

Failure policy (why the job never drops a record): transport errors, timeouts, 408/429/5xx and
unreadable bodies are *unavailability* — retried forever (unless ``max_attempts`` is set, as shadow
scoring does), the breaker spacing the attempts. A 4xx is a *rejection* of the input: the batcher
re-sends the batch one record at a time so only the rejected records surface as ``ScoringRejected``
(the job dead-letters them with the service's answer).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from lfd.response import SCORE_PATH, ResponseError, ScoreResult, build_request, results_for
from lfd.streaming.resilience import Attempts, Backoff, BreakerState, CircuitBreaker


class ScoringUnavailable(Exception):
    """The service did not answer usefully (retryable)."""


class ScoringRejected(Exception):
    """The service answered 4xx: the input itself is refused (not retryable)."""

    def __init__(self, status: int, detail: str) -> None:
        self.status = status
        self.detail = detail
        super().__init__(f"scoring service answered {status}: {detail}")


class ClientListener(Protocol):
    def on_request(self, records: int, seconds: float) -> None: ...

    def on_retry(self, error: str) -> None: ...

    def on_breaker(self, state: BreakerState) -> None: ...


class NullListener:
    def on_request(self, records: int, seconds: float) -> None:
        pass

    def on_retry(self, error: str) -> None:
        pass

    def on_breaker(self, state: BreakerState) -> None:
        pass


def score_url(base: str) -> str:
    base = base.rstrip("/")
    return base if base.endswith(SCORE_PATH) else f"{base}{SCORE_PATH}"


def order_results(records: list[dict[str, Any]], body: Any) -> list[ScoreResult]:
    """Results in the order of ``records``, read by the response contract; a body that breaks it is
    ``ScoringUnavailable`` (retried: a half-deployed or wrong service, not a verdict on the input)."""
    try:
        return results_for([r["id"] for r in records], body)
    except ResponseError as exc:
        raise ScoringUnavailable(str(exc)) from exc


@dataclass
class ScoringClient:
    url: str
    timeout_s: float = 2.0
    backoff: Backoff = field(default_factory=Backoff)
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    max_attempts: int | None = None  # None = retry until the service answers
    listener: ClientListener = field(default_factory=NullListener)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    http: httpx.AsyncClient | None = None

    async def score(self, records: list[dict[str, Any]]) -> list[ScoreResult]:
        attempts = Attempts(self.backoff, self.breaker, self.max_attempts, self.listener, self.clock)
        while True:
            while (wait := attempts.delay()) > 0:
                await self.sleep(wait)
            try:
                results = await self._post(records)
            except ScoringUnavailable as exc:
                if attempts.failed(str(exc)):
                    continue
                raise
            except ScoringRejected:
                attempts.succeeded()  # the service is up; the input is the problem
                raise
            attempts.succeeded()
            return results

    async def _post(self, records: list[dict[str, Any]]) -> list[ScoreResult]:
        if self.http is None:
            limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
            self.http = httpx.AsyncClient(limits=limits)
        began = time.perf_counter()
        try:
            response = await self.http.post(score_url(self.url), json=build_request(records), timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise ScoringUnavailable(f"{type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status in (408, 429) or status >= 500:
            raise ScoringUnavailable(f"HTTP {status}: {response.text[:200]}")
        if status >= 400:
            raise ScoringRejected(status, response.text[:500])
        try:
            body = response.json()
        except ValueError as exc:
            raise ScoringUnavailable(f"unreadable body: {exc}") from exc
        results = order_results(records, body)
        self.listener.on_request(len(records), time.perf_counter() - began)
        return results

    async def aclose(self) -> None:
        if self.http is not None:
            await self.http.aclose()
            self.http = None


ScoreBatch = Callable[[list[dict[str, Any]]], Awaitable[list[ScoreResult]]]


@dataclass
class Batcher:
    """Collects concurrent ``submit`` calls into batches of up to ``max_batch`` (or after ``linger_s``).

    Must be used from one event loop. At most ``max_concurrent`` batches are in flight; the rest wait,
    which is how a slow service slows the caller down instead of piling up requests.
    """

    score_batch: ScoreBatch
    max_batch: int = 256
    linger_s: float = 0.005
    max_concurrent: int = 4
    _pending: list[tuple[dict[str, Any], asyncio.Future[ScoreResult]]] = field(default_factory=list)
    _timer: asyncio.TimerHandle | None = None
    _slots: asyncio.Semaphore | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)  # strong references until done

    async def submit(self, record: dict[str, Any]) -> ScoreResult:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ScoreResult] = loop.create_future()
        self._pending.append((record, future))
        if len(self._pending) >= self.max_batch:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self.linger_s, self._flush)
        return await future

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._pending:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            task = asyncio.ensure_future(self._send(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self, batch: list[tuple[dict[str, Any], asyncio.Future[ScoreResult]]]) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_concurrent)
        async with self._slots:
            try:
                results = await self.score_batch([record for record, _ in batch])
            except ScoringRejected as exc:
                if len(batch) == 1:
                    _settle(batch[0][1], error=exc)
                    return
                for one in batch:  # isolate the records the service refuses
                    await self._send_one(one)
                return
            except Exception as exc:  # give-up of a bounded client (shadow) or a bug: tell every caller
                for _, future in batch:
                    _settle(future, error=exc)
                return
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result=result)

    async def _send_one(self, item: tuple[dict[str, Any], asyncio.Future[ScoreResult]]) -> None:
        record, future = item
        try:
            _settle(future, result=(await self.score_batch([record]))[0])
        except Exception as exc:
            _settle(future, error=exc)


def _settle(
    future: asyncio.Future[ScoreResult], *, result: ScoreResult | None = None, error: BaseException | None = None
) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        assert result is not None
        future.set_result(result)
