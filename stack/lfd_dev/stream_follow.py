"""The streaming job through a FraudModel's stable Service on the real node: do its scores follow the switches?

A Service routes connections, not requests, so a job that keeps its connections for ever keeps scoring on the old
colour after a blue-green switch (issue 11). The job re-opens its scoring connection once it is
``connection_max_age_s`` old; this module runs the REAL job (PyFlink, exactly-once Kafka sinks) against the stable
Service's ClusterIP while the operator switches colours, then reads what it wrote and says, per switch, when the new
colour's first score and the old colour's last score came. Shared by the node journey test and `make demo-operator`.

Decide (``followed``, ``timeline``: pure) apart from act (``StreamThroughService``: Kafka, the job process).
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lfd.streaming import produce as p
from lfd.streaming.config import StreamConfig
from lfd.streaming.verify import Reconciliation, read_outputs
from lfd_dev.components.kafka import ensure_topics
from lfd_dev.settings import Settings
from lfd_dev.streaming_job import LocalJob

#: The job's connection age bound in the journey: short enough that a switch is followed within seconds.
MAX_AGE_S = 5.0


@dataclass(frozen=True)
class Switch:
    """The stable Service switched to ``to`` at ``at_ms`` (epoch ms; the operator's ``status.switchedAt``, whole
    seconds, so the switch happened within the following second)."""

    at_ms: int
    to: str


def note_switch(switches: list[Switch], status: Mapping[str, Any]) -> None:
    """Append the switch a FraudModel ``status`` records (``switchedAt`` → ``activeColour``) if it is new."""
    at, colour = status.get("switchedAt"), status.get("activeColour")
    if not at or not colour:
        return
    stamp = datetime.strptime(str(at), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    switch = Switch(int(stamp.timestamp() * 1000), str(colour))
    if not switches or switches[-1] != switch:
        switches.append(switch)


@dataclass(frozen=True)
class Followed:
    switch: Switch
    #: ms from the switch to the first score made by the new colour (None: none before the next switch).
    first_new_ms: int | None
    #: ms from the switch to the last score made by another colour (None: none after the switch).
    last_old_ms: int | None


def followed(scores: Iterable[Mapping[str, Any]], switches: list[Switch]) -> list[Followed]:
    """Per switch, within the time until the next one: when the new colour started and the old one stopped scoring."""
    scored = sorted((int(s["processing_time_ms"]), str(s["model"]["colour"])) for s in scores)
    out = []
    for n, switch in enumerate(switches):
        until = switches[n + 1].at_ms if n + 1 < len(switches) else None
        window = [(t, c) for t, c in scored if t >= switch.at_ms and (until is None or t < until)]
        new = [t for t, c in window if c == switch.to]
        old = [t for t, c in window if c != switch.to]
        out.append(
            Followed(
                switch,
                first_new_ms=min(new) - switch.at_ms if new else None,
                last_old_ms=max(old) - switch.at_ms if old else None,
            )
        )
    return out


def timeline(
    scores: Iterable[Mapping[str, Any]], start_ms: int, bin_s: float = 5.0
) -> list[tuple[float, Counter[str]]]:
    """Scores per ``bin_s`` seconds since ``start_ms``, counted by "colour vVERSION" (the model that scored them)."""
    bins: dict[int, Counter[str]] = {}
    for s in scores:
        n = int((int(s["processing_time_ms"]) - start_ms) // (bin_s * 1000))
        bins.setdefault(n, Counter())[f"{s['model']['colour']} v{s['model']['version']}"] += 1
    return [(n * bin_s, bins[n]) for n in sorted(bins)]


def render(
    rows: list[tuple[float, Counter[str]]], switches: list[Switch], start_ms: int, bin_s: float = 5.0, width: int = 30
) -> str:
    """The timeline as text bars, with each switch marked in the bin it happened in."""
    peak = max((sum(c.values()) for _, c in rows), default=1)
    marks = {int((s.at_ms - start_ms) // (bin_s * 1000)) * bin_s: s.to for s in switches}
    lines = []
    for at, counts in rows:
        cells = "  ".join(f"{name} {'█' * max(1, round(n / peak * width))} {n}" for name, n in sorted(counts.items()))
        mark = f"   ← stable Service → {marks[at]}" if at in marks else ""
        lines.append(f"    {at:5.0f}s  {cells}{mark}")
    return "\n".join(lines)


def report(scores: Sequence[Mapping[str, Any]], switches: list[Switch], start_ms: int) -> tuple[list[Followed], str]:
    """The switches made since ``start_ms``, judged (``followed``), and the timeline with one line per switch."""
    since = [w for w in switches if w.at_ms >= start_ms]
    judged = followed(scores, since)
    lines = [render(timeline(scores, start_ms), since, start_ms)]
    for f in judged:
        first = "none" if f.first_new_ms is None else f"{f.first_new_ms / 1000:.1f}s after it"
        last = (
            "no other-colour score after it"
            if f.last_old_ms is None
            else f"the last other-colour score {f.last_old_ms / 1000:.1f}s after"
        )
        lines.append(f"    switch → {f.switch.to}: first {f.switch.to} score {first}, {last}")
    return judged, "\n".join(lines)


@dataclass
class Outcome:
    reconciliation: Reconciliation
    scores: list[dict[str, Any]]


@dataclass
class StreamThroughService:
    """The real job scoring through ``url`` (a stable Service), fed at ``rate`` records/s until ``finish``."""

    settings: Settings
    url: str
    model_name: str
    workdir: Path
    rate: float = 50.0
    max_age_s: float = MAX_AGE_S
    prefix: str = field(default_factory=lambda: f"follow-{uuid.uuid4().hex[:8]}")
    job: LocalJob | None = None
    started_ms: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _kinds: Counter[str] = field(default_factory=Counter)
    _producer: threading.Thread | None = None
    _error: list[BaseException] = field(default_factory=list)

    def topic(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def start(self, first_checkpoint_timeout_s: float = 600.0) -> LocalJob:
        """Start the job, wait for its first checkpoint (its Kafka source and sinks are up), then the producer."""
        s = self.settings
        ensure_topics(s, {self.topic("transactions"): 1, self.topic("scores"): 1, self.topic("alerts"): 1,
                          self.topic("dlq"): 1, self.topic("shadow"): 1})  # fmt: skip
        config = StreamConfig(
            bootstrap=s.kafka_bootstrap, scoring_url=self.url, model_name=self.model_name,
            input_topic=self.topic("transactions"), scores_topic=self.topic("scores"),
            alerts_topic=self.topic("alerts"), dlq_topic=self.topic("dlq"), shadow_topic=self.topic("shadow"),
            group_id=self.prefix, transactional_id_prefix=self.prefix,
            checkpoint_dir=str(self.workdir / "checkpoints"), checkpoint_interval_ms=2_000,
            starting_offsets="earliest", connection_max_age_s=self.max_age_s,
        )  # fmt: skip
        self.job = LocalJob(config, s.streaming_python, s.flink_connector_jar, self.workdir / "job.log")
        self.job.start()
        self.job.checkpoint_after(0, timeout_s=first_checkpoint_timeout_s)
        self.started_ms = int(time.time() * 1000)
        self._producer = threading.Thread(target=self._produce, daemon=True, name="follow-producer")
        self._producer.start()
        return self.job

    def _produce(self) -> None:
        planned: Iterator[tuple[str, bytes, str]] = p.plan_records(
            p.load_rows(), count=int(self.rate * 3600), fraud_ratio=0.05, malformed_share=0.01, run_id=self.prefix
        )
        until_stopped = itertools.takewhile(lambda _: not self._stop.is_set(), planned)
        try:
            report = p.send(
                self.settings.kafka_bootstrap, self.topic("transactions"), until_stopped, rate=self.rate,
                run_id=self.prefix,
            )  # fmt: skip
            self._kinds.update(report.kinds)
        except BaseException as e:  # surfaced by finish(): a silent producer would make the counts meaningless
            self._error.append(e)

    def finish(self) -> Outcome:
        """Stop producing; read back every committed score and dead letter; stop the job."""
        assert self.job is not None and self._producer is not None, "start() first"
        self._stop.set()
        self._producer.join(120)
        if self._error:
            raise RuntimeError(f"the producer failed: {self._error[0]!r}")
        try:
            reconciliation, scores = read_outputs(
                self.settings.kafka_bootstrap, scores_topic=self.topic("scores"), dlq_topic=self.topic("dlq"),
                alerts_topic=self.topic("alerts"), produced=sum(self._kinds.values()), valid=self._kinds[p.VALID],
            )  # fmt: skip
        finally:
            self.job.stop()
        return Outcome(reconciliation, scores)

    def abandon(self) -> None:
        """Stop everything without reading (a failed step)."""
        self._stop.set()
        if self.job is not None:
            self.job.stop()
