"""Metric functions (pure): what a model's scores are worth on labelled rows.

Headline metrics weight every legitimate row by ``lfd.contract.LEGIT_WEIGHT`` (7.749): the dev
sample holds 1.28% frauds, the real stream 0.167%, and precision-type metrics are optimistic unless
the difference is undone. Rates *within* a class (recall, FPR, ROC-AUC) do not change with a
per-class weight; precision and PR-AUC do.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import average_precision_score, roc_auc_score

from lfd.contract import LEGIT_WEIGHT
from lfd.training.threshold import DEFAULT_COSTS, CostModel, expected_cost

FloatArray = npt.NDArray[Any]
IntArray = npt.NDArray[Any]
#: Recall is reported at this false-positive rate (0.1%: about 280 false alarms a day at ULB's volume).
DEFAULT_MAX_FPR = 0.001


def class_weights(y_true: IntArray, legit_weight: float = LEGIT_WEIGHT) -> FloatArray:
    return np.where(np.asarray(y_true) == 1, 1.0, legit_weight)


def pr_auc(y_true: IntArray, scores: FloatArray, legit_weight: float = 1.0) -> float:
    """Average precision (step-wise PR-AUC); ``legit_weight`` > 1 counts each legitimate row that often."""
    return float(average_precision_score(y_true, scores, sample_weight=class_weights(y_true, legit_weight)))


def roc_auc(y_true: IntArray, scores: FloatArray) -> float:
    return float(roc_auc_score(y_true, scores))


def recall_at_fpr(y_true: IntArray, scores: FloatArray, max_fpr: float = DEFAULT_MAX_FPR) -> float:
    """Highest recall of any threshold whose false-positive rate is at most ``max_fpr``.

    A threshold flags ``score >= t``; tied scores are flagged together, so ties cannot be split to
    sneak under the FPR limit.
    """
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=np.float64)
    n_pos, n_neg = int(np.sum(y == 1)), int(np.sum(y == 0))
    if n_pos == 0 or n_neg == 0:
        raise ValueError("recall_at_fpr needs both classes")
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    tp = np.cumsum(y_sorted == 1)
    fp = np.cumsum(y_sorted == 0)
    # Cut positions: after the last row of each run of equal scores.
    ends = np.flatnonzero(np.append(s_sorted[:-1] > s_sorted[1:], True))
    allowed = fp[ends] / n_neg <= max_fpr
    return float(tp[ends][allowed].max() / n_pos) if allowed.any() else 0.0


@dataclass(frozen=True)
class AtThreshold:
    precision: float  # weighted (real-stream fraud rate)
    recall: float
    fpr: float
    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int


def at_threshold(
    y_true: IntArray, scores: FloatArray, threshold: float, legit_weight: float = LEGIT_WEIGHT
) -> AtThreshold:
    y = np.asarray(y_true)
    flagged = np.asarray(scores) >= threshold
    tp = int(np.sum(flagged & (y == 1)))
    fp = int(np.sum(flagged & (y == 0)))
    fn = int(np.sum(~flagged & (y == 1)))
    tn = int(np.sum(~flagged & (y == 0)))
    weighted_fp = fp * legit_weight
    precision = tp / (tp + weighted_fp) if tp + fp else 0.0
    return AtThreshold(
        precision=float(precision),
        recall=tp / (tp + fn) if tp + fn else 0.0,
        fpr=fp / (fp + tn) if fp + tn else 0.0,
        true_positives=tp,
        false_positives=fp,
        false_negatives=fn,
        true_negatives=tn,
    )


@dataclass(frozen=True)
class Metrics:
    pr_auc_weighted: float
    pr_auc_unweighted: float
    roc_auc: float
    recall_at_fpr_0_1pct: float
    threshold: float
    precision_at_threshold: float
    recall_at_threshold: float
    fpr_at_threshold: float
    expected_cost: float  # euros on the evaluated rows, legitimate rows weighted
    cost_without_model: float  # every fraud missed

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


def evaluate(
    y_true: IntArray,
    scores: FloatArray,
    amount: FloatArray,
    threshold: float,
    costs: CostModel = DEFAULT_COSTS,
    legit_weight: float = LEGIT_WEIGHT,
) -> Metrics:
    """Every metric the pipeline logs, for one model on one set of rows."""
    point = at_threshold(y_true, scores, threshold, legit_weight)
    return Metrics(
        pr_auc_weighted=pr_auc(y_true, scores, legit_weight),
        pr_auc_unweighted=pr_auc(y_true, scores, 1.0),
        roc_auc=roc_auc(y_true, scores),
        recall_at_fpr_0_1pct=recall_at_fpr(y_true, scores, DEFAULT_MAX_FPR),
        threshold=float(threshold),
        precision_at_threshold=point.precision,
        recall_at_threshold=point.recall,
        fpr_at_threshold=point.fpr,
        expected_cost=expected_cost(y_true, scores, amount, threshold, costs, legit_weight),
        cost_without_model=expected_cost(y_true, scores, amount, np.inf, costs, legit_weight),
    )
