"""Names of the job's metrics and a small recorder that works with or without a Flink metric group.

Flink registers them under ``<job>.<operator>.lfd.<name>``; the Prometheus reporter turns them into
``flink_taskmanager_job_task_operator_lfd_<name>`` (see docs/streaming.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from lfd.streaming.resilience import BreakerState

GROUP: Final = "lfd"
RECORDS_IN: Final = "records_in"  # per topic: group "topic" = <name>
RECORDS_OUT: Final = "records_out"
DLQ: Final = "dlq_records"
SCORING_LATENCY_MS: Final = "scoring_latency_ms"
EVENT_TO_SCORE_MS: Final = "event_to_score_ms"
RETRIES: Final = "scoring_retries"
BREAKER_STATE: Final = "circuit_breaker_state"
SHADOW_FAILURES: Final = "shadow_failures"


class _NullCounter:
    def inc(self, n: int = 1) -> None:
        pass


class _NullDistribution:
    def update(self, value: int) -> None:
        pass


@dataclass
class Recorder:
    """Holds counters/distributions from a Flink ``MetricGroup`` (or no-ops when ``group`` is None)."""

    group: Any = None
    _counters: dict[tuple[str, str], Any] = field(default_factory=dict)
    _distributions: dict[str, Any] = field(default_factory=dict)
    breaker_state: int = int(BreakerState.CLOSED)
    last_event_to_score_ms: int = 0

    def counter(self, name: str, topic: str = "") -> Any:
        key = (name, topic)
        if key not in self._counters:
            if self.group is None:
                self._counters[key] = _NullCounter()
            else:
                base = self.group.add_group(GROUP)
                if topic:
                    base = base.add_group("topic", topic)
                self._counters[key] = base.counter(name)
        return self._counters[key]

    def distribution(self, name: str) -> Any:
        if name not in self._distributions:
            self._distributions[name] = (
                _NullDistribution() if self.group is None else self.group.add_group(GROUP).distribution(name)
            )
        return self._distributions[name]

    def register_gauges(self) -> None:
        if self.group is not None:
            lfd = self.group.add_group(GROUP)
            lfd.gauge(BREAKER_STATE, lambda: self.breaker_state)
            lfd.gauge("last_" + EVENT_TO_SCORE_MS, lambda: self.last_event_to_score_ms)

    # ClientListener
    def on_request(self, records: int, seconds: float) -> None:
        self.distribution(SCORING_LATENCY_MS).update(int(seconds * 1000))

    def on_retry(self, error: str) -> None:
        self.counter(RETRIES).inc()

    def on_breaker(self, state: BreakerState) -> None:
        self.breaker_state = int(state)
