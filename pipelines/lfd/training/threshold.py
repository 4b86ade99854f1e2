"""Choose the decision threshold that minimises expected cost (pure).

Cost model (defaults stated here and in ``lfd train --help``):

* a **missed fraud** costs its transaction ``Amount`` (the money lost; chargebacks ignored) times
  ``missed_fraud_amount_factor`` plus ``missed_fraud_fixed_cost``;
* a **false alarm** costs ``review_cost`` = **€5** (a few minutes of an analyst, or a blocked
  customer's friction).

Legitimate rows are weighted (``lfd.contract.LEGIT_WEIGHT`` in the pipeline) so the threshold suits
the real stream's fraud rate, not the dev sample's. A flagged transaction is scored ``>= threshold``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from lfd.training.defaults import DEFAULT_REVIEW_COST

FloatArray = npt.NDArray[Any]
IntArray = npt.NDArray[Any]


@dataclass(frozen=True)
class CostModel:
    review_cost: float = DEFAULT_REVIEW_COST
    missed_fraud_amount_factor: float = 1.0
    missed_fraud_fixed_cost: float = 0.0

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value < 0:
                raise ValueError(f"cost model: {name} must be >= 0, got {value}")

    def missed_fraud_costs(self, amount: FloatArray) -> FloatArray:
        return np.asarray(amount, dtype=np.float64) * self.missed_fraud_amount_factor + self.missed_fraud_fixed_cost

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


DEFAULT_COSTS = CostModel()


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    expected_cost: float
    flagged: float  # weighted number of transactions flagged at the threshold


def expected_cost(
    y_true: IntArray,
    scores: FloatArray,
    amount: FloatArray,
    threshold: float,
    costs: CostModel,
    legit_weight: float = 1.0,
) -> float:
    """Cost of deciding ``scores >= threshold``: weighted false alarms plus missed fraud amounts."""
    y = np.asarray(y_true)
    flagged = np.asarray(scores) >= threshold
    false_alarms = float(np.sum(flagged & (y == 0))) * legit_weight
    missed = float(np.sum(costs.missed_fraud_costs(np.asarray(amount))[(~flagged) & (y == 1)]))
    return false_alarms * costs.review_cost + missed


def choose_threshold(
    y_true: IntArray,
    scores: FloatArray,
    amount: FloatArray,
    costs: CostModel = DEFAULT_COSTS,
    legit_weight: float = 1.0,
) -> ThresholdChoice:
    """Scan every distinct score as a threshold (plus 'flag nothing') and keep the cheapest.

    Ties in cost go to the highest threshold (fewest alerts). Runs in O(n log n).
    """
    y = np.asarray(y_true).astype(np.int64)
    s = np.asarray(scores, dtype=np.float64)
    if y.shape != s.shape or s.ndim != 1 or len(s) == 0:
        raise ValueError(f"y_true and scores must be equal-length non-empty 1-d arrays, got {y.shape} and {s.shape}")
    fraud_cost = costs.missed_fraud_costs(np.asarray(amount)) * (y == 1)
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    # Flagging the top k rows: alarms = weighted legit among them, missed = fraud cost outside them.
    alarm_cost = np.concatenate([[0.0], np.cumsum((y[order] == 0) * legit_weight * costs.review_cost)])
    caught = np.concatenate([[0.0], np.cumsum(fraud_cost[order])])
    total = alarm_cost + (caught[-1] - caught)
    # Only cut between distinct scores: k is valid if k == 0, k == n, or s_sorted[k-1] > s_sorted[k].
    valid = np.ones(len(s) + 1, dtype=bool)
    valid[1:-1] = s_sorted[:-1] > s_sorted[1:]
    candidates = np.flatnonzero(valid)
    best = candidates[np.argmin(total[candidates])]  # argmin takes the first = smallest k = highest threshold
    threshold = float(np.nextafter(s_sorted[0], np.inf)) if best == 0 else float(s_sorted[best - 1])
    weights = np.where(y == 1, 1.0, legit_weight)
    flagged = float(np.sum(weights[order][:best]))
    return ThresholdChoice(threshold=threshold, expected_cost=float(total[best]), flagged=flagged)


def cost_by_threshold(
    y_true: IntArray,
    scores: FloatArray,
    amount: FloatArray,
    costs: CostModel = DEFAULT_COSTS,
    legit_weight: float = 1.0,
    points: int = 200,
) -> tuple[FloatArray, FloatArray]:
    """Expected cost on a grid of thresholds in [0, 1], for trade-off plots."""
    grid = np.linspace(0.0, 1.0, points)
    values = np.array([expected_cost(y_true, scores, amount, float(t), costs, legit_weight) for t in grid])
    return grid, values
