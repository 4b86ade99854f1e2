"""Champion vs challenger on the same live transactions, from the job's shadow scores (pure).

During a rollout the streaming job scores each transaction with the stable model (``scores``) and
the preview one (``scores-shadow``). Pairs joined by id give:

- agreement: share of transactions with the same decision,
- alert rates of both and their ratio (challenger / champion),
- score-distribution distance: the two-sample Kolmogorov-Smirnov statistic (0 same, 1 disjoint),
- once labels arrive, weighted PR-AUC of each on the same labelled transactions.

The monitor exports these as gauges; the operator's optional ``prePromotionAnalysis.shadow`` gate reads
them back from Prometheus and judges them (``fraud_operator.analysis.shadow``).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from lfd.contract import LEGIT_WEIGHT
from lfd.drift.records import Score
from lfd.training.evaluate import pr_auc

V = TypeVar("V")

DEFAULT_MAX_PAIRS = 100_000


@dataclass(frozen=True)
class Comparison:
    champion_version: str
    challenger_version: str
    transactions: int
    agreement: float
    champion_alert_rate: float
    challenger_alert_rate: float
    alert_rate_ratio: float  # challenger / champion; inf when the champion never alerts and the challenger does
    score_distance: float  # two-sample KS statistic
    labelled: int = 0
    champion_pr_auc: float = math.nan
    challenger_pr_auc: float = math.nan


def ks_distance(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> float:
    """Largest gap between the two empirical CDFs (0 when either side is empty)."""
    if len(a) == 0 or len(b) == 0:
        return 0.0
    grid = np.union1d(a, b)
    cdf_a = np.searchsorted(np.sort(a), grid, side="right") / len(a)
    cdf_b = np.searchsorted(np.sort(b), grid, side="right") / len(b)
    return float(np.max(np.abs(cdf_a - cdf_b)))


def compare(pairs: list[tuple[Score, Score]], labels: dict[str, bool] | None = None) -> Comparison:
    """``pairs`` = (champion, challenger) scores of the same transactions (pure)."""
    if not pairs:
        raise ValueError("no transaction was scored by both models yet")
    champion = np.array([c.probability for c, _ in pairs])
    challenger = np.array([s.probability for _, s in pairs])
    champion_alerts = np.array([c.alert for c, _ in pairs])
    challenger_alerts = np.array([s.alert for _, s in pairs])
    rate_c, rate_s = float(champion_alerts.mean()), float(challenger_alerts.mean())
    ratio = rate_s / rate_c if rate_c > 0 else (math.inf if rate_s > 0 else 1.0)
    known = [(i, labels[c.id]) for i, (c, _) in enumerate(pairs) if labels and c.id in labels]
    result = Comparison(
        champion_version=pairs[0][0].model_version,
        challenger_version=pairs[0][1].model_version,
        transactions=len(pairs),
        agreement=float(np.mean(champion_alerts == challenger_alerts)),
        champion_alert_rate=rate_c,
        challenger_alert_rate=rate_s,
        alert_rate_ratio=ratio,
        score_distance=ks_distance(champion, challenger),
        labelled=len(known),
    )
    y = np.array([fraud for _, fraud in known], dtype=np.int8)
    if 0 < y.sum() < len(y):
        rows = [i for i, _ in known]
        return Comparison(
            **{
                **result.__dict__,
                "champion_pr_auc": pr_auc(y, champion[rows], LEGIT_WEIGHT),
                "challenger_pr_auc": pr_auc(y, challenger[rows], LEGIT_WEIGHT),
            }
        )
    return result


class ShadowPairs:
    """Primary and shadow scores joined by id (either may come first), the newest ``max_pairs`` kept."""

    def __init__(self, max_pairs: int = DEFAULT_MAX_PAIRS) -> None:
        self.max_pairs = max_pairs
        self._waiting: OrderedDict[str, Score] = OrderedDict()
        self._pairs: OrderedDict[str, tuple[Score, Score]] = OrderedDict()

    def add(self, score: Score) -> None:
        other = self._waiting.pop(score.id, None)
        if other is None or other.shadow == score.shadow:
            self._bounded(self._waiting, score.id, score)
            return
        champion, challenger = (other, score) if score.shadow else (score, other)
        self._bounded(self._pairs, score.id, (champion, challenger))

    def pairs(self, challenger_version: str | None = None) -> list[tuple[Score, Score]]:
        """Pairs for one challenger version (default: the newest pair's)."""
        if not self._pairs:
            return []
        wanted = challenger_version or next(reversed(self._pairs.values()))[1].model_version
        return [p for p in self._pairs.values() if p[1].model_version == wanted]

    def _bounded(self, store: OrderedDict[str, V], key: str, value: V) -> None:
        store[key] = value
        while len(store) > self.max_pairs:
            store.popitem(last=False)
