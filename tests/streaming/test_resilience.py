"""Unit: backoff grows and caps; the breaker opens, probes once, and closes again."""

from __future__ import annotations

import pytest

from lfd.streaming.resilience import Backoff, BreakerState, CircuitBreaker

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
