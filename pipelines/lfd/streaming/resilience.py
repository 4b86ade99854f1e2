"""Retry delays and a circuit breaker: pure state machines with an injectable clock.

The scoring client asks ``CircuitBreaker.wait_time(now)`` before each call: 0 means "call now",
anything else means "the service is known to be down, wait this long". It never gives up, so a
service outage turns into back-pressure on the Flink job instead of lost records.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter, capped: attempt 1 waits ~initial, attempt n ~initial*2^(n-1)."""

    initial_s: float = 0.05
    maximum_s: float = 2.0
    multiplier: float = 2.0
    jitter: float = 0.5  # share of the delay that is randomised (0 = deterministic)

    def delay(self, attempt: int, rand: float | None = None) -> float:
        if attempt < 1:
            raise ValueError(f"attempt must be >= 1, got {attempt}")
        base = min(self.maximum_s, self.initial_s * self.multiplier ** (attempt - 1))
        r = random.random() if rand is None else rand
        return base * (1 - self.jitter) + base * self.jitter * r


class BreakerState(enum.IntEnum):
    """Values are what the `circuit_breaker_state` gauge reports."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


@dataclass
class CircuitBreaker:
    """Opens after ``failure_threshold`` consecutive failures; after ``open_s`` lets one trial call through."""

    failure_threshold: int = 5
    open_s: float = 1.0
    state: BreakerState = BreakerState.CLOSED
    consecutive_failures: int = 0
    opened_at: float = 0.0
    trial_in_flight: bool = False
    transitions: list[tuple[float, BreakerState]] = field(default_factory=list)

    def wait_time(self, now: float) -> float:
        """Seconds to wait before calling; 0 = call now (and, when half-open, this caller is the trial)."""
        if self.state is BreakerState.CLOSED:
            return 0.0
        if self.state is BreakerState.OPEN:
            remaining = self.opened_at + self.open_s - now
            if remaining > 0:
                return remaining
            self._move(BreakerState.HALF_OPEN, now)
        if self.trial_in_flight:
            return min(self.open_s, 0.05)  # someone else is probing; check back soon
        self.trial_in_flight = True
        return 0.0

    def record_success(self, now: float) -> None:
        self.consecutive_failures = 0
        self.trial_in_flight = False
        if self.state is not BreakerState.CLOSED:
            self._move(BreakerState.CLOSED, now)

    def record_failure(self, now: float) -> None:
        self.consecutive_failures += 1
        self.trial_in_flight = False
        if self.state is BreakerState.HALF_OPEN or self.consecutive_failures >= self.failure_threshold:
            self.opened_at = now
            if self.state is not BreakerState.OPEN:
                self._move(BreakerState.OPEN, now)

    def _move(self, state: BreakerState, now: float) -> None:
        self.state = state
        self.transitions.append((now, state))
        del self.transitions[:-20]  # keep a short history for logs
