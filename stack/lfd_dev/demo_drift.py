"""`make demo-drift`: the monitoring loop on the local stack, briefly, with the dashboard before and after.

`make demo`'s first steps (stack, champion, scoring service, PyFlink job) → `lfd monitor` (gauges scraped by
the local Prometheus, Evidently every 15 s) → real transactions and their delayed labels, unshifted, through
the job → dashboard "before" → the same kind of rows with V1..V12 shifted → the retraining trigger fires on
drift → dashboard "after". The monitor runs without `--retrain` here (no FraudModel in the demo): the trigger
is counted (`lfd_retrain_runs_total`); retrain → `@challenger` → FraudModel → operator rollout is what
`tests/drift/test_loop_e2e.py` shows end to end.

Rows are drawn shuffled from the dev file: in file order its segments come from different periods and
"drift" against any reference with no shift at all (docs/monitoring.md).
"""

from __future__ import annotations

import os
import random
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from lfd.drift.replay import send
from lfd.drift.shift import Shift, ShiftKind, apply
from lfd_dev import process
from lfd_dev.components.prometheus import register_target
from lfd_dev.demo import Demo, ensure_champion, score_example, stack_alive, start_scoring, start_stream
from lfd_dev.ports import free_port
from lfd_dev.settings import load_settings
from lfd_dev.steps import run_steps

ROWS = int(os.environ.get("LFD_DEMO_DRIFT_ROWS", "1500"))
RATE = float(os.environ.get("LFD_DEMO_DRIFT_RATE", "300"))
WAIT_S = 900.0  # per phase; Evidently and the job are slow on a busy 2-core machine


class DriftDemo(Demo):
    metrics_port: int = 0

    @property
    def out(self) -> Path:
        return self.settings.state / "demo-drift" / self.run_id


def gauges(demo: DriftDemo) -> dict[str, float]:
    """The monitor's own /metrics, as {'name{labels}': value}."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{demo.metrics_port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            values[f"{s.name}{{{labels}}}"] = s.value
    return values


def first(values: dict[str, float], name: str) -> float | None:
    return next((v for k, v in values.items() if k.startswith(name + "{")), None)


def start_monitor(demo: DriftDemo) -> str:
    demo.metrics_port = free_port()
    demo.spawn(
        f"monitor-{demo.run_id}",
        "monitor",
        "--metrics-port",
        str(demo.metrics_port),
        "--drift-every",
        "15",
        "--drift-window",
        "1000",
        "--report-dir",
        str(demo.out / "evidently"),
    )
    name = f"monitor-{demo.run_id}"
    process.wait_until(
        lambda: _alive(demo),
        what="lfd monitor",
        timeout=300,
        pid_file=demo.settings.pids / f"{name}.pid",
        log_file=demo.settings.logs / f"{name}.log",
    )
    register_target(demo.settings, "monitor-demo", f"127.0.0.1:{demo.metrics_port}", {"component": "monitor"})
    return f"    lfd monitor on :{demo.metrics_port}/metrics (scraped by Prometheus), Evidently every 15 s"


def _alive(demo: DriftDemo) -> bool:
    try:
        gauges(demo)
        return True
    except OSError:
        return False


def replay(demo: DriftDemo, kind: ShiftKind) -> float:
    from lfd.streaming.produce import load_rows

    rows = load_rows()
    random.Random(len(kind)).shuffle(rows)
    picked = [(r.features, r.fraud) for r in rows[:ROWS]]
    report = send(
        demo.settings.kafka_bootstrap,
        apply(picked, f"{demo.run_id}-{kind}", Shift(kind)),
        rate=RATE,
        label_delay_s=5,
        progress=lambda n: print(f"    {n} transactions sent", flush=True),
    )
    print(f"    {report.transactions} transactions ({report.frauds} frauds) and their labels 5 s later", flush=True)
    return time.time()


def wait_for(demo: DriftDemo, what: str, done: Callable[[dict[str, float]], bool]) -> dict[str, float]:
    deadline, last = time.monotonic() + WAIT_S, 0.0
    while time.monotonic() < deadline:
        values = gauges(demo)
        if done(values):
            return values
        if time.monotonic() - last > 15:
            last = time.monotonic()
            share = first(values, "lfd_drift_share_drifted_features")
            print(f"    waiting for {what}: drift share {share}", flush=True)
        time.sleep(2)
    raise RuntimeError(f"no {what} within {WAIT_S:.0f}s; see {demo.settings.logs}")


def dashboard(demo: DriftDemo, name: str) -> str:
    out = demo.out / name
    demo.run("dashboard", "--prometheus", demo.settings.prometheus_url, "--minutes", "15", "--out", str(out))
    return f"    dashboard {name}: {out / 'dashboard.html'}"


def phase_before(demo: DriftDemo) -> str:
    sent = replay(demo, "none")
    values = wait_for(
        demo,
        "a drift check on the unshifted rows",
        lambda v: (first(v, "lfd_drift_last_run_timestamp_seconds") or 0) > sent + 5,
    )
    share = first(values, "lfd_drift_share_drifted_features")
    return f"    unshifted: {100 * (share or 0):.0f}% of features drifted\n{dashboard(demo, 'before')}"


def phase_after(demo: DriftDemo) -> str:
    replay(demo, "features")
    values = wait_for(
        demo, "the retraining trigger", lambda v: (v.get('lfd_retrain_runs_total{reason="drift"}') or 0) >= 1
    )
    share = first(values, "lfd_drift_share_drifted_features")
    return (
        f"    V1..V12 shifted: {100 * (share or 0):.0f}% of features drifted → the trigger fired on drift "
        f'(lfd_retrain_runs_total{{reason="drift"}} = 1)\n{dashboard(demo, "after")}'
    )


STEPS: list[tuple[str, Callable[[DriftDemo], str]]] = [
    ("stack components healthy", stack_alive),
    ("champion model in the MLflow registry", ensure_champion),
    ("scoring service", start_scoring),
    ("one transaction scored", score_example),
    ("PyFlink job: transactions → scores", start_stream),
    ("lfd monitor: labels, drift, trigger", start_monitor),
    ("before: unshifted transactions + delayed labels", phase_before),
    ("after: V1..V12 shifted mid-stream", phase_after),
]


def main() -> int:
    demo = DriftDemo(load_settings())
    took = run_steps("demo-drift", demo, STEPS)
    if took is None:
        return 1
    print(f"\ndemo-drift finished in {took:.0f}s. Where to look:")
    print(f"  dashboards       {demo.out}/before/dashboard.html · {demo.out}/after/dashboard.html")
    print(f"  Evidently        {demo.out}/evidently/ (and MLflow experiment fraud-detector-monitoring)")
    print(f"  monitor          http://127.0.0.1:{demo.metrics_port}/metrics · log {demo.settings.logs}")
    print("  stop everything  make down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
