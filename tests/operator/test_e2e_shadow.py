"""End-to-end: the optional shadow gate decides a rollout, from the drift monitor's gauges in Prometheus.

The monitor's ``Gauges`` run here as a real exporter scraped by the local Prometheus, carrying what ``lfd
monitor`` would have computed from the job's shadow scores for the versions the two colours really report.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fraud_operator.analysis.shadow import served_version
from lfd.drift.compare import Comparison
from lfd.drift.gauges import Gauges
from lfd_dev.components.prometheus import register_target, unregister_target
from lfd_dev.ports import free_port
from lfd_dev.settings import Settings
from tests.operator.conftest import FraudModels
from tests.operator.harness import OperatorProcess, ScoringPool, SelectorWatcher
from tests.operator.test_e2e_rollout import fast, healthy_on

SHADOW = {"enabled": True, "minTransactions": 500, "maxAlertRateRatio": 2.0, "minAgreement": 0.99}


@pytest.fixture
def monitor_gauges(stack_settings: Settings, prometheus: str, namespace: str) -> Iterator[Gauges]:
    gauges, port = Gauges(), free_port()
    gauges.serve(port, addr="127.0.0.1")
    register_target(stack_settings, f"monitor-{namespace}", f"127.0.0.1:{port}", {"test": namespace})
    yield gauges
    unregister_target(stack_settings, f"monitor-{namespace}")


def _versions(pool: ScoringPool, bundles: dict[str, Path], old: str, new: str) -> tuple[str, str]:
    processes = [pool.for_bundle(str(bundles[k])) for k in (old, new)]
    assert all(processes)
    return served_version(processes[0].url), served_version(processes[1].url)  # type: ignore[union-attr]


@pytest.mark.e2e
def test_shadow_gate_holds_a_challenger_that_disagrees_on_live_traffic(
    fraudmodels: FraudModels,
    operator: OperatorProcess,
    watcher: SelectorWatcher,
    scoring_pool: ScoringPool,
    bundles: dict[str, Path],
    monitor_gauges: Gauges,
) -> None:
    # Given blue serving good-v1 with the shadow gate on
    shadow = {"prePromotionAnalysis": {"shadow": SHADOW}}
    fraudmodels.apply("good-v1", **fast(**shadow))
    fraudmodels.wait(healthy_on("blue"), "blue Healthy", timeout=120)
    champion, challenger = _versions(scoring_pool, bundles, "good-v1", "good-v2")
    # When good-v2 is previewed, smoke and quality pass, but live traffic has not given enough pairs yet
    monitor_gauges.comparison(Comparison(champion, challenger, 100, 0.999, 0.01, 0.01, 1.0, 0.01))
    fraudmodels.set_model("good-v2")
    fraudmodels.wait(
        lambda s: s.get("currentStep") == "PrePromotionAnalysis", "waiting in pre-promotion analysis", timeout=180
    )
    time.sleep(10)  # several reconciles (interval 1 s): the gate keeps waiting, it does not decide
    waiting = fraudmodels.status()
    assert waiting["currentStep"] == "PrePromotionAnalysis" and waiting["activeColour"] == "blue"
    assert not [r for r in waiting.get("analysis", []) if r["kind"] == "pre"], waiting["analysis"]
    # Then, once the monitor has seen 4,000 pairs on which they disagree 3% of the time, the gate fails it
    monitor_gauges.comparison(Comparison(champion, challenger, 4000, 0.97, 0.01, 0.012, 1.2, 0.08))
    status = fraudmodels.wait(lambda s: s.get("phase") == "Degraded", "Degraded", timeout=120)
    assert status["currentStep"] == "AnalysisFailed" and "disagrees with the champion" in status["message"]
    assert "4000 transactions" in status["message"] and status["activeColour"] == "blue"
    assert fraudmodels.selector_colour("fm") == "blue"
    assert set(watcher.caught_up().stable_colours) == {"blue"} and watcher.violations == []
