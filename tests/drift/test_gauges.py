"""The monitor's gauges: what is exported before anything happened."""

from __future__ import annotations

import pytest

from lfd.drift.gauges import Gauges


@pytest.mark.unit
def test_retrain_counters_start_at_zero_so_the_first_retrain_is_an_increase() -> None:
    # Prometheus' increase() ignores a series' first sample: a counter born at 1 would show no retrain at all
    # on the dashboard's "rollouts, rollbacks, retrains" panel.
    gauges = Gauges()
    for reason in ("drift", "labels"):
        assert gauges.registry.get_sample_value("lfd_retrain_runs_total", {"reason": reason}) == 0
    gauges.retrains.labels("drift").inc()
    assert gauges.registry.get_sample_value("lfd_retrain_runs_total", {"reason": "drift"}) == 1
