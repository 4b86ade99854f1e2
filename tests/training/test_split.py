"""Time split: every test row is later than every training row; stratified keeps the fraud share."""

from __future__ import annotations

import pandas as pd
import pytest

from lfd.training.split import split, stratified_split, time_split
from tests.training.conftest import make_frame


@pytest.mark.unit
def test_time_split_trains_on_earlier_rows_only() -> None:
    frame = make_frame(1000, 40).sample(frac=1.0, random_state=3)  # shuffled input
    parts = time_split(frame, 0.25)
    assert parts.train["Time"].max() < parts.test["Time"].min()
    assert len(parts.test) == 250
    assert len(parts.train) + len(parts.test) == len(frame)


@pytest.mark.unit
def test_time_split_keeps_tied_times_on_one_side() -> None:
    frame = make_frame(10, 2)
    frame["Time"] = [0, 1, 2, 3, 4, 5, 5, 5, 6, 7]
    parts = time_split(frame, 0.4)  # the cut would fall inside the run of 5s
    assert parts.train["Time"].max() < parts.test["Time"].min()
    assert (parts.test["Time"] == 5).sum() == 3


@pytest.mark.unit
def test_stratified_split_is_seeded_and_keeps_fraud_share() -> None:
    frame = make_frame(1000, 40)
    a, b, c = (
        stratified_split(frame, 0.2, seed=1),
        stratified_split(frame, 0.2, seed=1),
        stratified_split(frame, 0.2, 2),
    )
    pd.testing.assert_frame_equal(a.test, b.test)
    assert not a.test.equals(c.test)
    assert int(a.test["Class"].sum()) == 8 and int(a.train["Class"].sum()) == 32


@pytest.mark.unit
@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
def test_bad_fraction_is_rejected(fraction: float) -> None:
    with pytest.raises(ValueError, match="test_fraction"):
        split(make_frame(20, 2), "time", fraction)


@pytest.mark.unit
def test_unknown_method_is_named() -> None:
    with pytest.raises(ValueError, match="'random'"):
        split(make_frame(20, 2), "random")  # type: ignore[arg-type]
