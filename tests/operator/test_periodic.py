"""The periodic reconciler that replaced kopf's timer: its retry rules (table) and its workers (a plain set stands
in for kopf's live index; the step is a recording function, so these run in milliseconds)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter

import kopf
import pytest

from fraud_operator.periodic import BACKOFF, Key, Reconciler, error_reason, next_delay

pytestmark = pytest.mark.unit

INTERVAL = 2.0


@pytest.mark.parametrize(
    ("error", "delay"),
    [
        (None, INTERVAL),
        (kopf.TemporaryError("409", delay=1), 1.0),
        (kopf.TemporaryError("no delay given", delay=None), INTERVAL),  # type: ignore[arg-type]
        (kopf.PermanentError("spec is invalid, fix it"), INTERVAL),
        (RuntimeError("API server unreachable"), BACKOFF),
    ],
)
def test_next_delay_keeps_the_timer_rules(error: BaseException | None, delay: float) -> None:
    assert next_delay(error, INTERVAL) == delay


def test_error_reason_tells_invalid_specs_from_failures() -> None:
    assert error_reason(kopf.PermanentError("x")) == "ReconcileInvalid"
    assert error_reason(ValueError("x")) == "ReconcileFailed"


def _run_for(reconciler: Reconciler, seconds: float, during: list[tuple[float, str, Key]] | None = None) -> None:
    """Run the reconciler for ``seconds``; at each (t, "add"/"remove", key) change the index."""
    index = reconciler.known
    assert isinstance(index, set)

    async def main() -> None:
        task = asyncio.create_task(reconciler.run())
        started = time.monotonic()
        for at, what, key in during or []:
            await asyncio.sleep(max(0.0, at - (time.monotonic() - started)))
            index.add(key) if what == "add" else index.discard(key)
        await asyncio.sleep(max(0.0, seconds - (time.monotonic() - started)))
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())


def test_every_known_fraudmodel_is_reconciled_every_interval_and_a_removed_one_stops() -> None:
    calls: Counter[Key] = Counter()
    lock = threading.Lock()

    def step(namespace: str, name: str) -> None:
        with lock:
            calls[(namespace, name)] += 1

    reconciler = Reconciler(known={("a", "fm")}, step=step, warn=lambda *_: None, interval=0.1, poll=0.02)
    _run_for(reconciler, 1.0, [(0.0, "add", ("b", "fm")), (0.5, "remove", ("b", "fm"))])
    # about once per interval (10 in 1 s; bounds loose for a loaded machine), the first at once
    assert 4 <= calls[("a", "fm")] <= 12, calls
    assert 1 <= calls[("b", "fm")] <= calls[("a", "fm")] - 2, calls  # only while in the index (half the time)
    assert reconciler.workers == {} or all(t.done() for t in reconciler.workers.values())


def test_a_slow_fraudmodel_does_not_hold_up_another_and_never_runs_twice_at_once() -> None:
    running: Counter[Key] = Counter()
    overlaps: list[Key] = []
    calls: Counter[Key] = Counter()
    lock = threading.Lock()

    def step(namespace: str, name: str) -> None:
        key = (namespace, name)
        with lock:
            running[key] += 1
            calls[key] += 1
            if running[key] > 1:
                overlaps.append(key)
        time.sleep(0.6 if name == "slow" else 0.0)  # an analysis taking its time
        with lock:
            running[key] -= 1

    reconciler = Reconciler(
        known={("ns", "slow"), ("ns", "fast")}, step=step, warn=lambda *_: None, interval=0.05, poll=0.01
    )
    _run_for(reconciler, 1.0)
    assert overlaps == []
    assert 1 <= calls[("ns", "slow")] <= 2 and calls[("ns", "fast")] >= 3 * calls[("ns", "slow")], calls


def test_failures_are_retried_and_reported_once_per_distinct_message() -> None:
    warnings: list[tuple[str, str, str, str]] = []
    attempts: Counter[str] = Counter()

    def step(namespace: str, name: str) -> None:
        attempts[name] += 1
        if name == "broken":
            raise RuntimeError("API server said no")
        if name == "invalid":
            raise kopf.PermanentError("spec of ns/invalid is invalid, fix it")
        raise kopf.TemporaryError("changed while reconciling", delay=0.05)

    def warn(namespace: str, name: str, reason: str, message: str) -> None:
        warnings.append((namespace, name, reason, message))
        raise RuntimeError("the Event could not be posted either")  # must not stop the worker

    known = {("ns", "broken"), ("ns", "invalid"), ("ns", "busy")}
    reconciler = Reconciler(known=known, step=step, warn=warn, interval=0.05, poll=0.01)
    # A short BACKOFF would need a parameter; instead the unexpected error is retried once within BACKOFF + 1.5 s.
    _run_for(reconciler, BACKOFF + 1.5)
    assert attempts["broken"] == 2, "retried after BACKOFF"
    assert attempts["invalid"] >= 20 and attempts["busy"] >= 20, "retried every interval / TemporaryError delay"
    assert sorted(w[1:3] for w in warnings) == [("broken", "ReconcileFailed"), ("invalid", "ReconcileInvalid")]
    assert "spec of ns/invalid is invalid, fix it" in next(w[3] for w in warnings if w[1] == "invalid")
