"""The trial-selection rule, table-tested: defaults kept unless a trial beats them by more than the fold spread."""

from __future__ import annotations

import pytest

from lfd.training.selection import select_trial


@pytest.mark.unit
@pytest.mark.parametrize(
    ("scores", "rule", "chosen"),
    [
        # consistent gain on every fold (mean 0.05 > sd 0.0): the trial wins
        ({0: [0.80, 0.70, 0.75], 1: [0.85, 0.75, 0.80]}, "robust", 1),
        # higher mean from one lucky fold (gains +0.2, -0.05, -0.05: mean 0.033 < sd 0.144): defaults kept
        ({0: [0.80, 0.70, 0.75], 1: [1.00, 0.65, 0.70]}, "robust", 0),
        # the old rule takes that lucky trial
        ({0: [0.80, 0.70, 0.75], 1: [1.00, 0.65, 0.70]}, "best", 1),
        # the defaults are the best trial: kept under either rule
        ({0: [0.90, 0.90], 1: [0.80, 0.85], 2: [0.70, 0.95]}, "robust", 0),
        ({0: [0.90, 0.90], 1: [0.80, 0.85], 2: [0.70, 0.95]}, "best", 0),
        # only the best-mean trial is compared with the defaults, not a steadier runner-up
        ({0: [0.5, 0.5], 1: [0.9, 0.55], 2: [0.6, 0.6]}, "robust", 0),
        # defaults missing (pruned): the rule falls back to the best mean
        ({3: [0.5, 0.6], 4: [0.7, 0.7]}, "robust", 4),
        # ties on the mean go to the earlier trial
        ({0: [0.5, 0.5], 1: [0.5, 0.5]}, "best", 0),
    ],
)
def test_selection_rule(scores: dict[int, list[float]], rule: str, chosen: int) -> None:
    assert select_trial(scores, rule).trial == chosen  # type: ignore[arg-type]


@pytest.mark.unit
def test_selection_reports_gain_and_spread() -> None:
    kept = select_trial({0: [0.80, 0.70, 0.75], 1: [1.00, 0.65, 0.70]})
    assert kept.trial == 0 and kept.mean == pytest.approx(0.75)
    assert kept.gain == pytest.approx(0.1 / 3) and kept.spread == pytest.approx(0.1443, abs=1e-4)
    assert "defaults kept" in kept.reason


@pytest.mark.unit
@pytest.mark.parametrize(
    ("scores", "message"),
    [({}, "no completed trial"), ({0: [0.5, 0.5], 1: [0.5]}, "one score per fold"), ({0: []}, "one score per fold")],
)
def test_selection_rejects_bad_input(scores: dict[int, list[float]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        select_trial(scores)


@pytest.mark.unit
def test_unknown_rule_is_named() -> None:
    with pytest.raises(ValueError, match="selection rule must be one of robust, best"):
        select_trial({0: [0.5, 0.5], 1: [0.6, 0.6]}, "newest")  # type: ignore[arg-type]
