"""Retry delays, a circuit breaker, and the attempts of one call under both: pure state machines with an
injectable clock, shared by the two scoring clients (async ``/score``, blocking OIP v2 batches).

A client asks ``Attempts.delay()`` before each try: 0 means "call now", anything else means "wait this long
first" (the backoff after a failure, or the breaker saying the service is known to be down). Without
``max_attempts`` it never gives up, so a service outage turns into back-pressure on the Flink job instead of
lost records.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


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


class RetryListener(Protocol):
    def on_retry(self, error: str) -> None: ...

    def on_breaker(self, state: BreakerState) -> None: ...


@dataclass
class Attempts:
    """The attempts of one call: the caller sleeps ``delay()`` until it is 0, tries, and reports the outcome
    (``succeeded`` -- also for a refused input: the service is up --, or ``failed``, which says when to stop)."""

    backoff: Backoff
    breaker: CircuitBreaker
    max_attempts: int | None
    listener: RetryListener
    clock: Callable[[], float]
    made: int = 0
    _backing_off: float = 0.0

    def delay(self) -> float:
        """Seconds to wait before trying; 0 = try now (this counts as an attempt)."""
        if self._backing_off > 0:
            wait, self._backing_off = self._backing_off, 0.0
            return wait
        wait = self.breaker.wait_time(self.clock())
        if wait == 0:
            self.made += 1
        return wait

    def succeeded(self) -> None:
        self._record(success=True)

    def failed(self, error: str) -> bool:
        """Record an unavailability; False when the attempts are used up (the caller re-raises)."""
        self._record(success=False)
        if self.max_attempts is not None and self.made >= self.max_attempts:
            return False
        self.listener.on_retry(error)
        self._backing_off = self.backoff.delay(self.made)
        return True

    def _record(self, *, success: bool) -> None:
        before = self.breaker.state
        if success:
            self.breaker.record_success(self.clock())
        else:
            self.breaker.record_failure(self.clock())
        if self.breaker.state is not before:
            self.listener.on_breaker(self.breaker.state)
