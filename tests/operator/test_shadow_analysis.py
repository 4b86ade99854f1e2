"""The optional shadow gate (``prePromotionAnalysis.shadow``): a table of verdicts, and the real thing - the
drift monitor's gauges served over HTTP, scraped by the local Prometheus, read back and judged."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator

import httpx
import pytest

from fraud_operator.analysis import CannotRun, Unreachable
from fraud_operator.analysis.shadow import judge, queries, run_shadow
from lfd.drift.compare import Comparison
from lfd.drift.gauges import Gauges
from lfd_dev.components.prometheus import register_target, unregister_target
from lfd_dev.ports import free_port
from lfd_dev.settings import Settings
from tests.operator.harness import wait_for

LIMITS = {"min_transactions": 1000, "max_alert_rate_ratio": 2.0, "min_agreement": 0.99}


@pytest.mark.unit
@pytest.mark.parametrize(
    ("transactions", "agreement", "ratio", "result", "why"),
    [
        (None, None, None, "Inconclusive", "0 transactions scored by both (< 1000)"),
        (999, 1.0, 1.0, "Inconclusive", "999 transactions"),
        (1000, 0.995, 1.5, "Passed", "agreement 0.9950"),
        (1000, 0.98, 1.0, "Failed", "disagrees with the champion too often"),
        (5000, 0.999, 2.5, "Failed", "alerts too often"),
        (5000, 0.999, math.inf, "Failed", "alerts too often"),  # the champion never alerted, the challenger did
        (5000, math.nan, 1.0, "Failed", "disagrees"),
    ],
)
def test_shadow_verdicts(
    transactions: float | None, agreement: float | None, ratio: float | None, result: str, why: str
) -> None:
    verdict = judge(transactions, agreement, ratio, **LIMITS)
    assert verdict.result == result and why in verdict.message, verdict


@pytest.mark.unit
def test_queries_select_one_version_pair() -> None:
    q = queries("3", "4")
    assert q["agreement"] == 'max(lfd_shadow_agreement{champion_version="3",challenger_version="4"})'
    assert set(q) == {"transactions", "agreement", "alert_rate_ratio"}


@pytest.mark.unit
def test_versions_are_required() -> None:
    with pytest.raises(CannotRun, match="report a model version"):
        run_shadow("http://127.0.0.1:9", None, "4", **LIMITS)


@pytest.fixture
def exporter(stack_settings: Settings, prometheus: str) -> Iterator[tuple[Gauges, str]]:
    """The monitor's own Gauges on a free port, registered with the local Prometheus."""
    gauges, port = Gauges(), free_port()
    gauges.serve(port, addr="127.0.0.1")
    name = f"shadow-{uuid.uuid4().hex[:6]}"
    register_target(stack_settings, name, f"127.0.0.1:{port}", {"test": name})
    yield gauges, name
    unregister_target(stack_settings, name)


def _comparison(champion: str, challenger: str, transactions: int, agreement: float, ratio: float) -> Comparison:
    return Comparison(champion, challenger, transactions, agreement, 0.01, 0.01 * ratio, ratio, 0.05)


@pytest.mark.integration
def test_shadow_gate_reads_the_monitors_gauges_from_prometheus(exporter: tuple[Gauges, str], prometheus: str) -> None:
    gauges, _ = exporter
    # Given the monitor saw 4,000 pairs of 7 vs 8 (agreeing) and 4,000 of 7 vs 9 (alerting 3x as often)
    base = uuid.uuid4().int % 10_000_000  # versions unique to this test: Prometheus keeps old series a while
    v7, v8, v9 = str(base), str(base + 1), str(base + 2)
    gauges.comparison(_comparison(v7, v8, 4000, 0.997, 1.1))
    gauges.comparison(_comparison(v7, v9, 4000, 0.995, 3.0))

    def scraped() -> bool:
        r = httpx.get(f"{prometheus}/api/v1/query", params={"query": queries(v7, v9)["alert_rate_ratio"]})
        return bool(r.json()["data"]["result"])

    wait_for(scraped, 60, "Prometheus to scrape the monitor's gauges")
    # When the operator's gate judges each pair, Then the agreeing challenger passes, the noisy one fails
    passed = run_shadow(prometheus, v7, v8, **LIMITS)
    assert passed.result == "Passed" and "4000 transactions" in passed.message
    failed = run_shadow(prometheus, v7, v9, **LIMITS)
    assert failed.result == "Failed" and "alerts too often" in failed.message
    # And a pair the monitor has not seen (or not enough of) makes the gate wait, not decide
    with pytest.raises(Unreachable, match="0 transactions"):
        run_shadow(prometheus, v7, str(base + 3), **LIMITS)
    with pytest.raises(Unreachable, match="4000 transactions"):
        run_shadow(prometheus, v7, v8, min_transactions=10_000, max_alert_rate_ratio=2.0, min_agreement=0.99)
