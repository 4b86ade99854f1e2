"""Label-based quality: the join (either side first, shadow too, bounded) and the window's metrics."""

from __future__ import annotations

import math

import pytest

from lfd.contract import LEGIT_WEIGHT
from lfd.drift.quality import LabelJoin, quality
from lfd.drift.records import Label, Score


def score(i: int, p: float, alert: bool, version: str = "3", shadow: bool = False) -> Score:
    return Score(f"tx-{i}", p, alert, version, shadow)


def label(i: int, fraud: bool) -> Label:
    return Label(f"tx-{i}", fraud, 0)


@pytest.mark.unit
def test_join_works_whichever_side_comes_first_and_pairs_shadow_scores_too() -> None:
    join = LabelJoin()
    assert join.add_score(score(1, 0.9, True)) is None
    assert [r.fraud for r in join.add_label(label(1, True))] == [True]
    join.add_label(label(2, False))
    assert join.add_score(score(2, 0.1, False)) is not None
    assert join.add_score(score(2, 0.2, False, version="4", shadow=True)) is not None  # after its label
    assert join.versions() == ["3", "4"] and len(join.rows("3")) == 2 and join.rows("4")[0].shadow


@pytest.mark.unit
def test_window_slides_and_pending_maps_are_bounded() -> None:
    join = LabelJoin(window=3, max_pending=2)
    for i in range(5):
        join.add_score(score(i, 0.5, False))
        join.add_label(label(i, False))
    assert [r.id for r in join.rows("3")] == ["tx-2", "tx-3", "tx-4"]
    for i in range(10, 14):
        join.add_score(score(i, 0.5, False))
    assert join.evicted >= 2  # four waiting scores, room for two (plus labels evicted earlier)
    assert join.add_label(label(10, True)) == []  # its score was evicted: nothing joined, nothing invented


@pytest.mark.unit
def test_metrics_on_a_hand_made_window() -> None:
    join = LabelJoin()
    # 2 frauds (one alerted at 0.9, one missed at 0.4); 3 legit (one false alarm at 0.8)
    for i, (p, alert, fraud) in enumerate(
        [(0.9, True, True), (0.4, False, True), (0.8, True, False), (0.1, False, False), (0.2, False, False)]
    ):
        join.add_score(score(i, p, alert))
        join.add_label(label(i, fraud))
    (q,) = join.qualities()
    assert (q.transactions, q.frauds, q.alerts) == (5, 2, 2)
    assert q.recall_at_threshold == 0.5
    assert q.alert_precision == pytest.approx(1 / (1 + LEGIT_WEIGHT))  # one fraud vs one weighted false alarm
    # ranking: 0.9 F, 0.8 L, 0.4 F, ...: AP = 0.5 * 1 + 0.5 * 2 / (2 + W)
    assert q.pr_auc_weighted == pytest.approx(0.5 + 0.5 * 2 / (2 + LEGIT_WEIGHT))


@pytest.mark.unit
def test_one_class_windows_say_nan_not_zero() -> None:
    q = quality("3", [])
    assert q.transactions == 0 and math.isnan(q.pr_auc_weighted) and math.isnan(q.recall_at_threshold)
    join = LabelJoin()
    join.add_score(score(1, 0.1, False))
    join.add_label(label(1, False))
    (q,) = join.qualities()
    assert math.isnan(q.pr_auc_weighted) and math.isnan(q.alert_precision) and q.frauds == 0
