"""Split labelled rows into train and test.

Default ``time``: train on the earlier ``Time`` values, test on the later ones, the way the model
is used (it scores transactions that happen after it was trained). ``stratified`` is a seeded
random split that keeps the fraud share equal on both sides, for comparison with published figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from lfd.contract import LABEL_FIELD, TIME_FIELD

SplitMethod = Literal["time", "stratified"]
SPLIT_METHODS: tuple[SplitMethod, ...] = ("time", "stratified")
DEFAULT_TEST_FRACTION = 0.2


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    test: pd.DataFrame
    method: SplitMethod

    def describe(self) -> str:
        return (
            f"{self.method} split: train {len(self.train)} rows ({int(self.train[LABEL_FIELD].sum())} frauds), "
            f"test {len(self.test)} rows ({int(self.test[LABEL_FIELD].sum())} frauds)"
        )


def _check_fraction(test_fraction: float) -> None:
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction}")


def time_split(frame: pd.DataFrame, test_fraction: float = DEFAULT_TEST_FRACTION) -> Split:
    """Earliest ``1 - test_fraction`` of rows (by ``Time``) train; the rest test.

    Rows sharing the boundary ``Time`` all go to the test side, so every test row is at or after
    the boundary and strictly later than every training row.
    """
    _check_fraction(test_fraction)
    ordered = frame.sort_values(TIME_FIELD, kind="stable").reset_index(drop=True)
    cut = round(len(ordered) * (1.0 - test_fraction))
    cut = min(max(cut, 1), len(ordered) - 1)
    boundary = ordered[TIME_FIELD].iloc[cut]
    is_test = ordered[TIME_FIELD].to_numpy() >= boundary
    train, test = ordered[~is_test], ordered[is_test]
    if train.empty:
        raise ValueError(f"time split left no training rows: every row has Time >= {boundary}")
    return Split(train.reset_index(drop=True), test.reset_index(drop=True), "time")


def stratified_split(frame: pd.DataFrame, test_fraction: float = DEFAULT_TEST_FRACTION, seed: int = 0) -> Split:
    """Seeded random split with the same fraud share in train and test."""
    _check_fraction(test_fraction)
    rng = np.random.default_rng(seed)
    is_test = np.zeros(len(frame), dtype=bool)
    labels = frame[LABEL_FIELD].to_numpy()
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        chosen = rng.choice(rows, size=round(len(rows) * test_fraction), replace=False)
        is_test[chosen] = True
    return Split(frame[~is_test].reset_index(drop=True), frame[is_test].reset_index(drop=True), "stratified")


def split(
    frame: pd.DataFrame, method: SplitMethod = "time", test_fraction: float = DEFAULT_TEST_FRACTION, seed: int = 0
) -> Split:
    if method == "time":
        return time_split(frame, test_fraction)
    if method == "stratified":
        return stratified_split(frame, test_fraction, seed)
    raise ValueError(f"split method must be one of {', '.join(SPLIT_METHODS)}, got {method!r}")
