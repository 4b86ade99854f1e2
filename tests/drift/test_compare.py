"""Champion vs challenger from shadow pairs: numbers on hand-made pairs and the join (the operator's verdict on
them: tests/operator/test_shadow_analysis.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lfd.drift.compare import ShadowPairs, compare, ks_distance
from lfd.drift.records import Score


def pair(i: int, champion: float, challenger: float, threshold: float = 0.5) -> tuple[Score, Score]:
    return (
        Score(f"tx-{i}", champion, champion >= threshold, "3", False),
        Score(f"tx-{i}", challenger, challenger >= threshold, "4", True),
    )


@pytest.mark.unit
def test_ks_distance() -> None:
    a = np.array([0.1, 0.2, 0.3])
    assert ks_distance(a, a) == 0.0
    assert ks_distance(a, a + 1.0) == 1.0
    assert ks_distance(np.array([0.0, 1.0]), np.array([0.0, 0.0])) == 0.5
    assert ks_distance(a, np.array([])) == 0.0


@pytest.mark.unit
def test_comparison_numbers() -> None:
    pairs = [pair(0, 0.9, 0.9), pair(1, 0.1, 0.7), pair(2, 0.2, 0.2), pair(3, 0.3, 0.3)]
    result = compare(pairs, labels={"tx-0": True, "tx-1": False, "tx-2": False})
    assert (result.champion_version, result.challenger_version, result.transactions) == ("3", "4", 4)
    assert result.agreement == 0.75
    assert (result.champion_alert_rate, result.challenger_alert_rate, result.alert_rate_ratio) == (0.25, 0.5, 2.0)
    assert result.labelled == 3 and result.champion_pr_auc == 1.0 and result.challenger_pr_auc == 1.0


@pytest.mark.unit
def test_no_champion_alerts_gives_an_infinite_ratio_and_no_labels_give_nan() -> None:
    result = compare([pair(0, 0.1, 0.9), pair(1, 0.1, 0.1)])
    assert math.isinf(result.alert_rate_ratio) and math.isnan(result.champion_pr_auc)
    with pytest.raises(ValueError, match="no transaction"):
        compare([])


@pytest.mark.unit
def test_shadow_pairs_join_either_order_and_select_the_newest_challenger() -> None:
    join = ShadowPairs(max_pairs=10)
    c, s = pair(1, 0.2, 0.3)
    join.add(s)
    join.add(c)
    c2, s2 = pair(2, 0.2, 0.3)
    join.add(c2)
    join.add(Score("tx-2", 0.25, False, "3", False))  # a duplicate primary score replaces, never pairs
    join.add(s2)
    assert [p[0].id for p in join.pairs()] == ["tx-1", "tx-2"]
    assert join.pairs("9") == []
