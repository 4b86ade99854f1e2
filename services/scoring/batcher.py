"""Adaptive micro-batching shared by every protocol: one queue, one model thread, never a silent drop.

How it adapts: while the model thread is busy, requests queue up; when it frees up, *everything*
queued (up to ``max_rows``) runs as one batch. At low load each request runs alone and waits for
nobody; under load batches grow by themselves, which is what keeps tail latency flat. An optional
``wait_s`` trades latency for bigger batches (off by default).

Inline path: a request that is already a batch (``inline_min_rows`` rows or more, no reasons asked)
and finds the model idle and nobody queued is predicted on the event loop itself. Merging it with
others would save little (its per-call model overhead is already shared by its rows), while the hop
to the model thread and back (executor submit, thread wake-up, a thread-safe callback through the
loop's self-pipe, the batcher task's own wake-up) is a measurable share of a 100-row request on a
single core. The loop is blocked for at most one ``max_rows`` prediction; TreeSHAP never runs inline.

Overload: when more than ``max_queue_rows`` rows wait, :meth:`MicroBatcher.submit` raises
:class:`~scoring.errors.Overloaded` at once (HTTP 503 + Retry-After, gRPC UNAVAILABLE); a request that
waited longer than ``max_queue_wait_s`` before its batch started gets the same answer instead of
being computed late. Either way latency stays bounded and the client is told to retry. A request whose client went away is dropped from its batch's
results only (its future is cancelled); it never takes another request's result with it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from lfd.model_bundle import FloatArray

from .errors import Overloaded

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prediction:
    proba: FloatArray
    contributions: FloatArray | None  # set only when the request asked for reasons


@dataclass
class _Job:
    rows: FloatArray
    explain: bool
    future: asyncio.Future[Prediction]
    enqueued_at: float = 0.0


def take_batch(queue: deque[_Job], max_rows: int) -> list[_Job]:
    """Pop jobs in arrival order until ``max_rows`` would be exceeded (always at least one job)."""
    jobs = [queue.popleft()]
    rows = len(jobs[0].rows)
    while queue and rows + len(queue[0].rows) <= max_rows:
        job = queue.popleft()
        rows += len(job.rows)
        jobs.append(job)
    return jobs


class MicroBatcher:
    def __init__(
        self,
        predict: Callable[[FloatArray], FloatArray],
        explain: Callable[[FloatArray], FloatArray],
        *,
        max_rows: int,
        max_queue_rows: int,
        wait_s: float = 0.0,
        max_queue_wait_s: float = 0.0,
        inline_min_rows: int = 0,
        retry_after_s: int = 1,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self._predict = predict
        self._explain = explain
        self._max_rows = max_rows
        self._max_queue_rows = max_queue_rows
        self._wait_s = wait_s
        self._max_queue_wait_s = max_queue_wait_s
        self._retry_after_s = retry_after_s
        self._on_batch = on_batch
        self._inline_min_rows = inline_min_rows  # 0 = never inline
        self._busy = False  # a batch is in the model thread
        self._queue: deque[_Job] = deque()
        self._queued_rows = 0
        self._wakeup = asyncio.Event()
        # One thread: the booster is predicted with nthread=1, and two concurrent batches on 2 cores
        # would only fight the event loop for CPU.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lfd-model")
        self._task: asyncio.Task[None] | None = None

    @property
    def queued_rows(self) -> int:
        return self._queued_rows

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="lfd-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for job in self._queue:
            if not job.future.done():
                job.future.set_exception(Overloaded("server is shutting down", self._retry_after_s))
        self._queue.clear()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def submit(self, rows: FloatArray, *, explain: bool = False) -> Prediction:
        n = len(rows)
        if self._queued_rows + n > self._max_queue_rows:
            raise Overloaded(
                f"scoring queue full ({self._queued_rows} rows waiting, limit {self._max_queue_rows}); "
                f"retry after {self._retry_after_s}s",
                self._retry_after_s,
            )
        if self._runs_inline(n, explain):
            proba = self._predict(rows)
            if self._on_batch is not None:
                self._on_batch(n)
            return Prediction(proba, None)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Prediction] = loop.create_future()
        self._queue.append(_Job(rows, explain, future, loop.time()))
        self._queued_rows += n
        self._wakeup.set()
        return await future

    def _runs_inline(self, n: int, explain: bool) -> bool:
        return (
            0 < self._inline_min_rows <= n <= self._max_rows
            and not explain
            and not self._busy
            and not self._queue
            and self._task is not None  # a stopped batcher computes nothing
        )

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
            if self._wait_s > 0 and self._queued_rows < self._max_rows:
                await asyncio.sleep(self._wait_s)
            jobs = take_batch(self._queue, self._max_rows)
            self._queued_rows -= sum(len(j.rows) for j in jobs)
            live = [j for j in jobs if not j.future.done()]  # skip requests whose client left
            live = self._shed_stale(live, loop.time())
            if not live:
                continue
            self._busy = True
            try:
                results = await loop.run_in_executor(self._executor, self._compute, live)
            except Exception as e:  # the model failed: every waiting request learns why
                log.exception("batch of %d requests failed", len(live))
                for job in live:
                    if not job.future.done():
                        job.future.set_exception(e)
                continue
            finally:
                self._busy = False
            for job, result in zip(live, results, strict=True):
                if not job.future.done():
                    job.future.set_result(result)

    def _shed_stale(self, jobs: list[_Job], now: float) -> list[_Job]:
        """Answer 503 to requests that already waited longer than ``max_queue_wait_s``: under sustained
        overload a bounded, explicit refusal beats a client-side timeout on an unbounded queue."""
        if self._max_queue_wait_s <= 0:
            return jobs
        fresh = []
        for job in jobs:
            waited = now - job.enqueued_at
            if waited > self._max_queue_wait_s:
                job.future.set_exception(Overloaded(
                    f"request waited {waited:.2f}s in the scoring queue (limit {self._max_queue_wait_s:.2f}s); "
                    f"retry after {self._retry_after_s}s", self._retry_after_s))  # fmt: skip
            else:
                fresh.append(job)
        return fresh

    def _compute(self, jobs: list[_Job]) -> list[Prediction]:
        """Runs in the model thread: one predict for all rows, one TreeSHAP pass for rows needing reasons."""
        matrix = jobs[0].rows if len(jobs) == 1 else np.concatenate([j.rows for j in jobs])
        proba = self._predict(matrix)
        explained = [j for j in jobs if j.explain]
        contribs = None
        if explained:
            rows = explained[0].rows if len(explained) == 1 else np.concatenate([j.rows for j in explained])
            contribs = self._explain(rows)
        if self._on_batch is not None:
            self._on_batch(len(matrix))
        results: list[Prediction] = []
        start = explain_start = 0
        for job in jobs:
            n = len(job.rows)
            job_contribs = None
            if job.explain and contribs is not None:
                job_contribs = contribs[explain_start : explain_start + n]
                explain_start += n
            results.append(Prediction(proba[start : start + n], job_contribs))
            start += n
        return results
