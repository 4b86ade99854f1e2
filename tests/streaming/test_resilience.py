"""Unit: backoff grows and caps; the breaker opens, probes once, and closes again; the attempts of one call
under both (what the two scoring clients share)."""

from __future__ import annotations

import pytest

from lfd.streaming.resilience import Attempts, Backoff, BreakerState, CircuitBreaker

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("attempt", "expected"), [(1, 0.1), (2, 0.2), (3, 0.4), (5, 1.0), (20, 1.0)])
def test_backoff_is_exponential_and_capped(attempt: int, expected: float) -> None:
    backoff = Backoff(initial_s=0.1, maximum_s=1.0, jitter=0.0)
    assert backoff.delay(attempt) == pytest.approx(expected)


def test_backoff_jitter_stays_within_bounds() -> None:
    backoff = Backoff(initial_s=1.0, maximum_s=1.0, jitter=0.5)
    assert backoff.delay(1, rand=0.0) == pytest.approx(0.5)
    assert backoff.delay(1, rand=1.0) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="attempt"):
        backoff.delay(0)


def test_breaker_opens_after_threshold_and_waits() -> None:
    breaker = CircuitBreaker(failure_threshold=3, open_s=2.0)
    for now in (0.0, 0.1):
        breaker.record_failure(now)
        assert breaker.state is BreakerState.CLOSED and breaker.wait_time(now) == 0
    breaker.record_failure(0.2)
    assert breaker.state is BreakerState.OPEN
    assert breaker.wait_time(1.2) == pytest.approx(1.0)


def test_breaker_half_open_lets_one_trial_through() -> None:
    breaker = CircuitBreaker(failure_threshold=1, open_s=1.0)
    breaker.record_failure(0.0)
    assert breaker.wait_time(1.5) == 0.0  # the trial
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.wait_time(1.5) > 0  # everyone else waits for the trial
    breaker.record_failure(1.6)  # trial failed: open again
    assert breaker.state is BreakerState.OPEN and breaker.wait_time(1.7) == pytest.approx(0.9)
    assert breaker.wait_time(2.7) == 0.0
    breaker.record_success(2.8)
    assert breaker.state is BreakerState.CLOSED and breaker.wait_time(2.8) == 0.0
    assert [s for _, s in breaker.transitions] == [
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.CLOSED,
    ]


class Heard:
    def __init__(self) -> None:
        self.retries: list[str] = []
        self.states: list[BreakerState] = []

    def on_retry(self, error: str) -> None:
        self.retries.append(error)

    def on_breaker(self, state: BreakerState) -> None:
        self.states.append(state)


def _attempts(max_attempts: int | None, heard: Heard, now: list[float]) -> Attempts:
    backoff = Backoff(initial_s=0.1, maximum_s=1.0, jitter=0.0)
    return Attempts(backoff, CircuitBreaker(failure_threshold=2, open_s=5.0), max_attempts, heard, lambda: now[0])


def test_attempts_back_off_then_wait_for_the_open_breaker_then_close_it() -> None:
    heard, now = Heard(), [0.0]
    attempts = _attempts(None, heard, now)
    assert attempts.delay() == 0 and attempts.made == 1
    assert attempts.failed("503") and attempts.delay() == pytest.approx(0.1)  # backoff after attempt 1
    assert attempts.delay() == 0 and attempts.made == 2
    assert attempts.failed("503") and heard.states == [BreakerState.OPEN]
    assert attempts.delay() == pytest.approx(0.2)  # backoff after attempt 2...
    assert attempts.delay() == pytest.approx(5.0)  # ...then the open breaker's wait
    now[0] = 5.0
    assert attempts.delay() == 0 and attempts.made == 3  # the half-open trial
    attempts.succeeded()
    assert heard.retries == ["503", "503"] and heard.states[-1] is BreakerState.CLOSED


def test_bounded_attempts_give_up_without_announcing_a_retry() -> None:
    heard = Heard()
    attempts = _attempts(2, heard, [0.0])
    attempts.delay()
    assert attempts.failed("timeout") is True
    attempts.delay(), attempts.delay()
    assert attempts.failed("timeout") is False and heard.retries == ["timeout"]
