"""A fired trigger's retrain waits for labels (found by the loop e2e: drift fired before the first delayed
label had arrived, and the retrain failed on an empty labelled window)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from lfd.contract import EXAMPLE_TRANSACTION, parse_transaction
from lfd.drift import retrain as retrain_module
from lfd.drift.gauges import Gauges
from lfd.drift.monitor import Monitor, MonitorConfig

pytestmark = pytest.mark.unit


def _monitor(min_rows: int) -> Monitor:
    config = MonitorConfig(bootstrap="unused:0", retrain=object(), min_retrain_rows=min_rows, log_to_mlflow=False)
    return Monitor(config, Gauges(), champion=None)


def _seen(monitor: Monitor, n: int, labelled: bool) -> None:
    for i in range(n):
        tx = parse_transaction({**EXAMPLE_TRANSACTION, "id": f"t{i}"})
        monitor.transactions[tx.id] = tx.as_dict()
        if labelled:
            monitor.fraud[tx.id] = i % 10 == 0


def test_a_retrain_without_labels_stays_pending_then_starts_once_they_arrive(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[tuple[int, str]] = []
    done = threading.Event()

    def fake_retrain(recent: Any, config: Any, reason: str) -> str:
        started.append((len(recent), reason))
        done.set()
        return "result"

    monkeypatch.setattr(retrain_module, "retrain", fake_retrain)
    monitor = _monitor(min_rows=50)
    _seen(monitor, 200, labelled=False)
    monitor.pending_retrain = "drift share 0.41 >= 0.3"
    monitor.start_retrain(monitor.pending_retrain)
    assert monitor.retraining is None and monitor.pending_retrain is not None and started == []

    _seen(monitor, 60, labelled=True)
    monitor.start_retrain(monitor.pending_retrain)
    assert done.wait(10)
    assert started == [(60, "drift share 0.41 >= 0.3")] and monitor.pending_retrain is None
    assert monitor.retraining is not None
    monitor.retraining.join(10)
    assert monitor.retrains == ["result"]
