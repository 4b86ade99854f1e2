"""PyFlink Function classes: thin adapters from Flink to the pure logic in records/client.

Streaming environment only (imports pyflink)."""

from __future__ import annotations

import json
import time
from typing import Any

from pyflink.common import Types
from pyflink.datastream import OutputTag, RuntimeContext
from pyflink.datastream.functions import AsyncFunction, ProcessFunction

from lfd.streaming import metrics as m
from lfd.streaming import records
from lfd.streaming.client import Batcher, ScoringClient, ScoringRejected
from lfd.streaming.config import StreamConfig
from lfd.streaming.resilience import Backoff, CircuitBreaker

DLQ_TAG = OutputTag("dlq", Types.STRING())
ALERT_TAG = OutputTag("alerts", Types.STRING())
#: What the scoring step emits: (kind, json) with kind "score" or "dlq".
SCORED_TYPE = Types.TUPLE([Types.STRING(), Types.STRING()])


def _now_ms() -> int:
    return int(time.time() * 1000)


class ParseFunction(ProcessFunction):  # type: ignore[misc]
    """bytes → parsed transaction (main output) or DLQ record (side output). Never raises on input."""

    def __init__(self, config: StreamConfig) -> None:
        self.config = config
        self.recorder = m.Recorder()

    def open(self, runtime_context: RuntimeContext) -> None:
        self.recorder = m.Recorder(runtime_context.get_metrics_group())

    def process_element(self, value: bytes, ctx: ProcessFunction.Context) -> Any:
        self.recorder.counter(m.RECORDS_IN, self.config.input_topic).inc()
        event_ms = ctx.timestamp()
        raw = bytes(value) if value is not None else b""
        outcome = records.parse_record(
            raw, int(event_ms) if event_ms is not None else _now_ms(), max_bytes=self.config.max_record_bytes
        )
        if isinstance(outcome, records.Parsed):
            yield records.parsed_json(outcome)
        else:
            self.recorder.counter(m.DLQ).inc()
            yield DLQ_TAG, records.dead_letter_json(outcome, source_topic=self.config.input_topic, now_ms=_now_ms())


class _ScoringBase(AsyncFunction):  # type: ignore[misc]
    shadow = False

    def __init__(self, config: StreamConfig) -> None:
        self.config = config
        self.recorder = m.Recorder()
        self._batcher: Batcher | None = None

    def _url(self) -> str:
        return self.config.scoring_url

    def _max_attempts(self) -> int | None:
        return None

    def open(self, runtime_context: RuntimeContext) -> None:
        self.recorder = m.Recorder(runtime_context.get_metrics_group())
        self.recorder.register_gauges()
        self._batcher = None  # built lazily inside the async runner's event loop

    def _batcher_in_loop(self) -> Batcher:
        if self._batcher is None:
            c = self.config
            client = ScoringClient(
                url=self._url(),
                timeout_s=c.request_timeout_s,
                backoff=Backoff(),
                breaker=CircuitBreaker(failure_threshold=c.breaker_failures, open_s=c.breaker_open_s),
                max_attempts=self._max_attempts(),
                listener=self.recorder,
            )
            self._batcher = Batcher(client.score, max_batch=c.batch_size, linger_s=c.linger_ms / 1000)
        return self._batcher

    async def _score(self, value: str) -> tuple[dict[str, Any], dict[str, Any]]:
        tx, event_ms = records.parsed_from_json(value)
        began = time.perf_counter()
        result = await self._batcher_in_loop().submit(tx)
        scored_ms = _now_ms()
        score = records.score_record(
            result,
            event_ms=event_ms,
            scored_ms=scored_ms,
            scoring_ms=(time.perf_counter() - began) * 1000,
            shadow=self.shadow,
        )
        return tx, score


class ScoreFunction(_ScoringBase):
    """Scores through the active model service; waits (back-pressure) while it is down."""

    async def async_invoke(self, value: str) -> list[tuple[str, str]]:
        try:
            _, score = await self._score(value)
        except ScoringRejected as exc:
            tx, _ = records.parsed_from_json(value)
            letter = records.DeadLetter(
                records.dumps(tx).encode(), records.REASON_REJECTED, "<record>", str(exc), tx["id"]
            )
            self.recorder.counter(m.DLQ).inc()
            return [("dlq", records.dead_letter_json(letter, source_topic=self.config.input_topic, now_ms=_now_ms()))]
        latency = int(score["event_to_score_ms"])
        self.recorder.last_event_to_score_ms = latency
        self.recorder.distribution(m.EVENT_TO_SCORE_MS).update(max(latency, 0))
        return [("score", records.dumps(score))]

    def timeout(self, value: str) -> list[tuple[str, str]]:
        # Only after async_timeout_s (1 h by default): fail the job so it restarts from the last
        # checkpoint rather than drop the record.
        raise TimeoutError(f"no score within {self.config.async_timeout_s} s for {value[:80]}")


class ShadowScoreFunction(_ScoringBase):
    """Scores with the preview service; bounded retries, and a failure only skips the shadow score."""

    shadow = True

    def _url(self) -> str:
        return self.config.shadow_url or ""

    def _max_attempts(self) -> int | None:
        return self.config.shadow_max_attempts

    async def async_invoke(self, value: str) -> list[str]:
        try:
            _, score = await self._score(value)
        except Exception:
            self.recorder.counter(m.SHADOW_FAILURES).inc()
            return []
        return [records.dumps(score)]

    def timeout(self, value: str) -> list[str]:
        self.recorder.counter(m.SHADOW_FAILURES).inc()
        return []


class RouteFunction(ProcessFunction):  # type: ignore[misc]
    """(kind, json) → scores (main), fraud alerts and rejected records (side outputs)."""

    def __init__(self, config: StreamConfig) -> None:
        self.config = config
        self.recorder = m.Recorder()

    def open(self, runtime_context: RuntimeContext) -> None:
        self.recorder = m.Recorder(runtime_context.get_metrics_group())

    def process_element(self, value: tuple[str, str], ctx: ProcessFunction.Context) -> Any:
        kind, payload = value[0], value[1]
        if kind == "dlq":
            yield DLQ_TAG, payload
            return
        self.recorder.counter(m.RECORDS_OUT, self.config.scores_topic).inc()
        yield payload
        score = json.loads(payload)
        if records.is_fraud(score):
            self.recorder.counter(m.RECORDS_OUT, self.config.alerts_topic).inc()
            yield ALERT_TAG, records.dumps(records.alert_record(score))
