"""Cost-based threshold on hand-made cases (costs worked out by hand in the comments)."""

from __future__ import annotations

import numpy as np
import pytest

from lfd.training.threshold import CostModel, choose_threshold, expected_cost

Y = np.array([1, 0, 1, 0, 0])
SCORES = np.array([0.9, 0.8, 0.6, 0.3, 0.1])
AMOUNT = np.array([100.0, 1.0, 20.0, 1.0, 1.0])


@pytest.mark.unit
def test_cheapest_threshold_unweighted() -> None:
    # flag none: 100+20=120 | >=0.9: 20 | >=0.8: 5+20=25 | >=0.6: 5 | >=0.3: 10 | >=0.1: 15
    choice = choose_threshold(Y, SCORES, AMOUNT, CostModel(review_cost=5.0))
    assert choice.threshold == pytest.approx(0.6)
    assert choice.expected_cost == pytest.approx(5.0)
    assert choice.flagged == pytest.approx(3.0)


@pytest.mark.unit
def test_weighting_legitimate_rows_raises_the_threshold() -> None:
    # legit x10: >=0.9: 20 | >=0.6: 50 | none: 120
    choice = choose_threshold(Y, SCORES, AMOUNT, CostModel(review_cost=5.0), legit_weight=10.0)
    assert choice.threshold == pytest.approx(0.9)
    assert choice.expected_cost == pytest.approx(20.0)


@pytest.mark.unit
def test_flagging_nothing_can_win() -> None:
    # one 1-euro fraud scored below a legit row: any alert costs 5, missing it costs 1
    choice = choose_threshold(np.array([1, 0]), np.array([0.4, 0.9]), np.array([1.0, 50.0]), CostModel(5.0))
    assert choice.threshold > 0.9
    assert choice.expected_cost == pytest.approx(1.0)
    assert choice.flagged == 0.0


@pytest.mark.unit
def test_tied_scores_are_never_split() -> None:
    # fraud and legit share 0.7: flagging the fraud means flagging the legit row too
    y, s, a = np.array([1, 0, 0]), np.array([0.7, 0.7, 0.2]), np.array([3.0, 0.0, 0.0])
    choice = choose_threshold(y, s, a, CostModel(review_cost=5.0))
    assert choice.threshold > 0.7  # 3 (miss) beats 5 (alert); a split tie would claim 0
    assert choice.expected_cost == pytest.approx(3.0)


@pytest.mark.unit
def test_fixed_and_factor_costs_of_a_missed_fraud() -> None:
    costs = CostModel(review_cost=5.0, missed_fraud_amount_factor=2.0, missed_fraud_fixed_cost=10.0)
    # at 0.95 nothing is flagged: (2*100+10) + (2*20+10) = 260
    assert expected_cost(Y, SCORES, AMOUNT, 0.95, costs) == pytest.approx(260.0)
    # at 0.6: frauds caught, one false alarm
    assert expected_cost(Y, SCORES, AMOUNT, 0.6, costs) == pytest.approx(5.0)


@pytest.mark.unit
def test_negative_costs_are_rejected_by_name() -> None:
    with pytest.raises(ValueError, match="review_cost"):
        CostModel(review_cost=-1.0)


@pytest.mark.unit
def test_choice_matches_brute_force_on_random_data() -> None:
    rng = np.random.default_rng(4)
    y = (rng.random(300) < 0.1).astype(int)
    s = np.round(rng.random(300) * 0.5 + y * 0.4, 2)  # rounded: many ties
    a = rng.exponential(60, 300)
    costs = CostModel(review_cost=5.0)
    choice = choose_threshold(y, s, a, costs, legit_weight=7.749)
    brute = min(expected_cost(y, s, a, t, costs, 7.749) for t in [*np.unique(s), 2.0])
    assert choice.expected_cost == pytest.approx(brute)
    assert expected_cost(y, s, a, choice.threshold, costs, 7.749) == pytest.approx(choice.expected_cost)


@pytest.mark.unit
@pytest.mark.parametrize(("value", "minimum", "refused"), [(0.82, 0.5, False), (0.5, 0.5, False), (0.3, 0.5, True)])
def test_registration_gate(value: float, minimum: float, refused: bool) -> None:
    from lfd.training.register import registration_gate

    reason = registration_gate(value, minimum)
    assert (reason is not None) == refused
    if reason:
        assert "0.3000" in reason and "not registered" in reason
