"""The trial-selection rule, table-tested: defaults kept unless a trial beats them by more than the fold spread."""

from __future__ import annotations

import pytest

from lfd.training.selection import select_family, select_trial


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


@pytest.mark.unit
@pytest.mark.parametrize(
    ("scores", "rule", "chosen"),
    [
        # the other family gains on every fold (0.03 each: mean 0.03 > sd 0): it replaces the preferred one
        ({"lightgbm": [0.80, 0.70, 0.75], "xgboost": [0.83, 0.73, 0.78]}, "robust", "xgboost"),
        # a higher mean from one lucky fold (gains +0.2, -0.02, -0.02: mean 0.053 < sd 0.127): preferred kept
        ({"lightgbm": [0.80, 0.70, 0.75], "xgboost": [1.00, 0.68, 0.73]}, "robust", "lightgbm"),
        # the old rule takes the higher mean
        ({"lightgbm": [0.80, 0.70, 0.75], "xgboost": [1.00, 0.68, 0.73]}, "best", "xgboost"),
        # the preferred family has the higher mean: kept under either rule
        ({"lightgbm": [0.90, 0.90], "xgboost": [0.80, 0.95]}, "robust", "lightgbm"),
        ({"lightgbm": [0.90, 0.90], "xgboost": [0.80, 0.95]}, "best", "lightgbm"),
        # a gain exactly equal to the spread is not more than it (identical folds: gain 0, sd 0)
        ({"lightgbm": [0.5, 0.6], "xgboost": [0.5, 0.6]}, "robust", "lightgbm"),
        # preferred family not trained (--families xgboost): the only / best one
        ({"xgboost": [0.5, 0.6]}, "robust", "xgboost"),
        # only the best-mean other family is compared with the preferred one
        ({"lightgbm": [0.5, 0.5], "a": [0.9, 0.55], "b": [0.6, 0.6]}, "robust", "lightgbm"),
        # ties on the mean go to the first name in sorted order under "best"
        ({"xgboost": [0.5, 0.5], "lightgbm": [0.5, 0.5]}, "best", "lightgbm"),
    ],
)
def test_family_rule(scores: dict[str, list[float]], rule: str, chosen: str) -> None:
    assert select_family(scores, "lightgbm", rule).family == chosen  # type: ignore[arg-type]


@pytest.mark.unit
def test_family_choice_reports_gain_spread_and_why() -> None:
    kept = select_family({"lightgbm": [0.80, 0.70, 0.75], "xgboost": [1.00, 0.68, 0.73]}, "lightgbm")
    assert kept.gain == pytest.approx(0.16 / 3) and kept.spread == pytest.approx(0.1270, abs=1e-4)
    assert kept.reason.startswith("lightgbm kept (preferred): xgboost gains 0.0533")
    replaced = select_family({"lightgbm": [0.80, 0.70], "xgboost": [0.90, 0.81]}, "lightgbm")
    assert replaced.reason == "xgboost beats lightgbm by 0.1050 > fold spread 0.0071"


@pytest.mark.unit
def test_selection_carries_the_chosen_trials_fold_scores() -> None:
    """The family choice compares these, so they must be the kept trial's, not the best trial's."""
    scores = {0: [0.80, 0.70, 0.75], 1: [1.00, 0.65, 0.70]}
    assert select_trial(scores, "robust").fold_scores == (0.80, 0.70, 0.75)
    assert select_trial(scores, "best").fold_scores == (1.00, 0.65, 0.70)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("scores", "message"),
    [
        ({}, "no family"),
        ({"lightgbm": [0.5, 0.5], "xgboost": [0.5]}, "every family needs one score per fold"),
        ({"lightgbm": [], "xgboost": []}, "one score per fold"),
    ],
)
def test_family_rule_rejects_bad_input(scores: dict[str, list[float]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        select_family(scores, "lightgbm")


@pytest.mark.unit
def test_family_rule_names_an_unknown_rule() -> None:
    with pytest.raises(ValueError, match="selection rule must be one of robust, best, got 'newest'"):
        select_family({"lightgbm": [0.5, 0.5]}, "lightgbm", "newest")  # type: ignore[arg-type]
