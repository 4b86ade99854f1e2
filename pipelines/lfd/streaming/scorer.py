"""One batch of Kafka records in, every output record out: parse → one scoring request → outputs.

No PyFlink here (the vectorised UDF in :mod:`lfd.streaming.batch_job` is a thin adapter), so this
runs and is tested in either environment against the real scoring service.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from lfd.streaming import metrics as m
from lfd.streaming.batch import (
    Outputs,
    ParsedBatch,
    Scored,
    Topics,
    batch_outputs,
    parse_values,
    score_values,
)
from lfd.streaming.client import ScoringRejected
from lfd.streaming.config import StreamConfig
from lfd.streaming.oip_client import OipBatchClient
from lfd.streaming.records import REASON_REJECTED, DeadLetter
from lfd.streaming.resilience import Backoff, CircuitBreaker


def _now_ms() -> int:
    return int(time.time() * 1000)


def make_client(config: StreamConfig, *, shadow: bool, listener: m.Recorder) -> OipBatchClient:
    return OipBatchClient(
        base_url=(config.shadow_url or "") if shadow else config.scoring_url,
        model_name=config.model_name,
        timeout_s=config.request_timeout_s,
        max_age_s=config.connection_max_age_s,
        fraud_reasons=config.reasons == "fraud",
        backoff=Backoff(),
        breaker=CircuitBreaker(failure_threshold=config.breaker_failures, open_s=config.breaker_open_s),
        max_attempts=config.shadow_max_attempts if shadow else None,
        listener=listener,
    )


@dataclass
class BatchScorer:
    config: StreamConfig
    recorder: m.Recorder = field(default_factory=m.Recorder)
    client: OipBatchClient | None = None
    shadow_client: OipBatchClient | None = None

    def open(self) -> None:
        self.client = make_client(self.config, shadow=False, listener=self.recorder)
        if self.config.shadow_url:
            self.shadow_client = make_client(self.config, shadow=True, listener=m.Recorder())

    def close(self) -> None:
        for client in (self.client, self.shadow_client):
            if client is not None:
                client.close()

    @property
    def topics(self) -> Topics:
        c = self.config
        return Topics(c.scores_topic, c.alerts_topic, c.dlq_topic, c.shadow_topic)

    def process(
        self, values: Sequence[bytes | None], keys: Sequence[bytes | None], event_ms: Sequence[int]
    ) -> list[Outputs]:
        """Every output of the batch, row for row (exactly one entry per input record)."""
        assert self.client is not None, "open() first"
        n = len(values)
        self.recorder.counter(m.RECORDS_IN, self.config.input_topic).inc(n)
        parsed = parse_values(values, max_bytes=self.config.max_record_bytes)
        dead = dict(parsed.dead)
        scores, shadow_scores = [], None
        if parsed.rows:
            parsed, scored = self._score(parsed, values, dead)
            now = _now_ms()
            scores = score_values(parsed, scored, keys, event_ms, now) if parsed.rows else []
            if self.shadow_client is not None and parsed.rows:
                shadow_scores = self._shadow(parsed, keys, event_ms)
        now = _now_ms()
        if scores:
            latest = max(now - event_ms[i] for i in parsed.rows)
            self.recorder.last_event_to_score_ms = latest
            self.recorder.distribution(m.EVENT_TO_SCORE_MS).update(max(latest, 0))
            frauds = sum(1 for _, _, fraud in scores if fraud)
            self.recorder.counter(m.RECORDS_OUT, self.config.scores_topic).inc(len(scores))
            self.recorder.counter(m.RECORDS_OUT, self.config.alerts_topic).inc(frauds)
        if dead:
            self.recorder.counter(m.DLQ).inc(len(dead))
        return batch_outputs(
            n, self.topics, parsed, scores, shadow_scores, dead, source_topic=self.config.input_topic, now_ms=now
        )

    def _score(
        self, parsed: ParsedBatch, values: Sequence[bytes | None], dead: dict[int, DeadLetter]
    ) -> tuple[ParsedBatch, Scored]:
        """One request for the batch; if the service refuses it, find the refused rows one by one."""
        assert self.client is not None
        try:
            return parsed, self.client.score(parsed.features)
        except ScoringRejected:
            pass
        kept: list[int] = []
        answers: list[Scored] = []
        for j, i in enumerate(parsed.rows):
            try:
                answers.append(self.client.score(parsed.features[j : j + 1]))
                kept.append(j)
            except ScoringRejected as exc:
                raw = bytes(values[i] or b"")
                dead[i] = DeadLetter(raw, REASON_REJECTED, "<record>", str(exc), parsed.ids[j])
        survivors = ParsedBatch(
            [parsed.rows[j] for j in kept], [parsed.ids[j] for j in kept], parsed.features[kept], parsed.dead
        )
        if not answers:
            return survivors, Scored([], [], None, "", "", "", 0.0)
        merged = replace(
            answers[-1],
            proba=[a.proba[0] for a in answers],
            decision=[a.decision[0] for a in answers],
            reasons=[a.reasons[0] if a.reasons is not None else "[]" for a in answers]
            if self.client.fraud_reasons
            else None,
        )
        return survivors, merged

    def _shadow(
        self, parsed: ParsedBatch, keys: Sequence[bytes | None], event_ms: Sequence[int]
    ) -> list[tuple[int, bytes, bool]] | None:
        """Best effort: bounded attempts; a failure only counts, it never holds up or changes decisions."""
        assert self.shadow_client is not None
        try:
            scored = self.shadow_client.score(np.asarray(parsed.features))
        except Exception:
            self.recorder.counter(m.SHADOW_FAILURES).inc()
            return None
        return score_values(parsed, scored, keys, event_ms, _now_ms(), shadow=True)
