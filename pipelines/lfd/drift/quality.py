"""Label-based quality per model version: join delayed labels with scores by transaction id (pure state).

Either side may arrive first (a label days later, or a shadow score after the label), so both wait in
bounded maps; a joined row enters its model version's sliding window (the last ``window`` labelled
transactions). Metrics weight each legitimate row by ``LEGIT_WEIGHT`` like every headline figure:

- weighted PR-AUC (average precision),
- recall at the operating threshold (share of frauds the served decision flagged),
- alert precision (weighted share of alerts that were fraud).
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from lfd.contract import LEGIT_WEIGHT
from lfd.drift.records import Label, Score
from lfd.training.evaluate import pr_auc

V = TypeVar("V")

DEFAULT_WINDOW = 5_000
DEFAULT_MAX_PENDING = 500_000


@dataclass(frozen=True, slots=True)
class Joined:
    id: str
    model_version: str
    shadow: bool
    probability: float
    alert: bool
    fraud: bool


@dataclass(frozen=True)
class Quality:
    model_version: str
    transactions: int
    frauds: int
    alerts: int
    pr_auc_weighted: float  # NaN until the window holds both classes
    recall_at_threshold: float  # NaN without frauds
    alert_precision: float  # NaN without alerts


def quality(version: str, rows: list[Joined]) -> Quality:
    """The window's metrics (pure)."""
    y = np.array([r.fraud for r in rows], dtype=np.int8)
    p = np.array([r.probability for r in rows], dtype=np.float64)
    alert = np.array([r.alert for r in rows], dtype=bool)
    frauds, alerts = int(y.sum()), int(alert.sum())
    both = 0 < frauds < len(rows)
    caught = float(np.count_nonzero(alert & (y == 1)))
    false_alarms = float(np.count_nonzero(alert & (y == 0)))
    return Quality(
        model_version=version,
        transactions=len(rows),
        frauds=frauds,
        alerts=alerts,
        pr_auc_weighted=pr_auc(y, p, LEGIT_WEIGHT) if both else math.nan,
        recall_at_threshold=caught / frauds if frauds else math.nan,
        alert_precision=caught / (caught + LEGIT_WEIGHT * false_alarms) if alerts else math.nan,
    )


class LabelJoin:
    """Scores and labels joined by id; a bounded sliding window of joined rows per (version, shadow)."""

    def __init__(self, window: int = DEFAULT_WINDOW, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        if window < 1 or max_pending < 1:
            raise ValueError(f"window and max_pending must be >= 1, got {window} and {max_pending}")
        self.window = window
        self.max_pending = max_pending
        self._scores: OrderedDict[str, list[Score]] = OrderedDict()
        self._labels: OrderedDict[str, Label] = OrderedDict()
        self._windows: dict[str, deque[Joined]] = {}
        self.evicted = 0  # scores or labels dropped unjoined because the maps were full

    def add_score(self, score: Score) -> Joined | None:
        label = self._labels.get(score.id)
        if label is not None:
            return self._join(score, label)
        self._remember(self._scores, score.id, [*self._scores.get(score.id, []), score])
        return None

    def add_label(self, label: Label) -> list[Joined]:
        joined = [self._join(s, label) for s in self._scores.pop(label.id, [])]
        self._remember(self._labels, label.id, label)  # a shadow score may still come
        return joined

    def rows(self, version: str) -> list[Joined]:
        return list(self._windows.get(version, ()))

    def versions(self) -> list[str]:
        return sorted(self._windows)

    def qualities(self) -> list[Quality]:
        return [quality(v, self.rows(v)) for v in self.versions()]

    def _join(self, score: Score, label: Label) -> Joined:
        row = Joined(score.id, score.model_version, score.shadow, score.probability, score.alert, label.fraud)
        self._windows.setdefault(score.model_version, deque(maxlen=self.window)).append(row)
        return row

    def _remember(self, store: OrderedDict[str, V], key: str, value: V) -> None:
        store[key] = value
        store.move_to_end(key)
        while len(store) > self.max_pending:
            store.popitem(last=False)
            self.evicted += 1
