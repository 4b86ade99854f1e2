"""Metric functions on hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from lfd.training.evaluate import at_threshold, evaluate, pr_auc, recall_at_fpr, roc_auc
from lfd.training.threshold import CostModel

Y = np.array([1, 0, 1, 0])
S = np.array([0.9, 0.8, 0.7, 0.1])


@pytest.mark.unit
def test_pr_auc_unweighted_and_weighted() -> None:
    # cut at 0.9: P=1, R=.5 ; cut at 0.7: P=2/3 (legit x2: 2/4), R=1
    assert pr_auc(Y, S) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert pr_auc(Y, S, legit_weight=2.0) == pytest.approx(0.5 * 1 + 0.5 * 0.5)


@pytest.mark.unit
def test_roc_auc_hand_case() -> None:
    # pairs (pos, neg): (.9,.8) (.9,.1) (.7,.8)x (.7,.1) -> 3/4
    assert roc_auc(Y, S) == pytest.approx(0.75)


@pytest.mark.unit
def test_recall_at_fpr() -> None:
    negatives = np.linspace(0.0, 0.6, 1000)  # 1000 legit rows
    y = np.concatenate([[1, 1], np.zeros(1000, int)])
    s = np.concatenate([[0.99, 0.595], negatives])  # second fraud has 9 legit rows above it (FPR 0.9%)
    assert recall_at_fpr(y, s, 0.001) == pytest.approx(0.5)
    assert recall_at_fpr(y, s, 0.01) == pytest.approx(1.0)


@pytest.mark.unit
def test_recall_at_fpr_does_not_split_ties() -> None:
    y = np.array([1] + [0] * 999)
    s = np.array([0.5] + [0.5] * 5 + [0.1] * 994)  # the fraud ties with 5 legit rows: FPR 0.5%
    assert recall_at_fpr(y, s, 0.001) == 0.0


@pytest.mark.unit
def test_at_threshold_counts_and_weighted_precision() -> None:
    point = at_threshold(Y, S, 0.75, legit_weight=2.0)
    assert (point.true_positives, point.false_positives, point.false_negatives, point.true_negatives) == (1, 1, 1, 1)
    assert point.precision == pytest.approx(1 / 3)
    assert point.recall == pytest.approx(0.5)
    assert point.fpr == pytest.approx(0.5)


@pytest.mark.unit
def test_evaluate_collects_everything() -> None:
    amount = np.array([100.0, 1.0, 20.0, 1.0])
    metrics = evaluate(Y, S, amount, 0.75, CostModel(review_cost=5.0), legit_weight=2.0)
    assert metrics.expected_cost == pytest.approx(2 * 5.0 + 20.0)  # one weighted alarm, one missed 20
    assert metrics.cost_without_model == pytest.approx(120.0)
    assert metrics.recall_at_threshold == pytest.approx(0.5)
    assert set(metrics.as_dict()) >= {"pr_auc_weighted", "roc_auc", "recall_at_fpr_0_1pct", "threshold"}
