"""An analysis that cannot run (no replay set where the operator looks) halts the rollout with a reason.

Before: ``load_replay_set`` raised FileNotFoundError through ``act`` on every reconcile, so an in-cluster
rollout sat in PrePromotionAnalysis with nothing in its status saying why.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fraud_operator.act import _analyse
from fraud_operator.analysis import CannotRun, Verdict, quality
from fraud_operator.plan import RunAnalysis
from fraud_operator.spec import FraudModelSpec, parse_spec

pytestmark = pytest.mark.unit

SPEC = parse_spec({"model": {"version": "2"}})
STEP = RunAnalysis("pre", "green", "blue", "abc123")


def _quality_on(path: str) -> Verdict:
    quality.load_replay_set(path, 10)
    return Verdict("Passed", "unreachable in these tests")


def test_a_missing_replay_set_becomes_a_failed_verdict_naming_the_path_and_the_setting(tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere.csv.gz")

    def run(namespace: str, name: str, spec: FraudModelSpec, step: RunAnalysis) -> Verdict:
        return _quality_on(missing)

    verdict = _analyse("ns", "fd", SPEC, STEP, run)
    assert verdict is not None and verdict.result == "Failed"
    assert missing in verdict.message and "LFD_OPERATOR_REPLAY_SET" in verdict.message


def test_a_replay_set_without_the_contracts_columns_cannot_run(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(CannotRun, match="lacks columns"):
        quality.load_replay_set(str(bad), 10)
