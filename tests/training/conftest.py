"""Fixtures for the training tests: small labelled frames and CSV writers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lfd.contract import FEATURES, LABEL_FIELD, LABELLED_COLUMNS, TIME_FIELD
from lfd.training.data import DEFAULT_DATA, load_labelled


def make_frame(n: int = 400, frauds: int = 20, seed: int = 0) -> pd.DataFrame:
    """A separable toy set: frauds have shifted V1..V3, Time increases with the row."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(FEATURES)))
    y = np.zeros(n, dtype=np.int8)
    fraud_rows = rng.choice(n, size=frauds, replace=False)
    y[fraud_rows] = 1
    x[fraud_rows, 1:4] += 3.0
    frame = pd.DataFrame(x, columns=list(FEATURES))
    frame[TIME_FIELD] = np.arange(n, dtype=np.float64) * 10.0
    frame["Amount"] = np.abs(frame["Amount"]) * 50.0
    frame[LABEL_FIELD] = y
    return frame[list(LABELLED_COLUMNS)]


@pytest.fixture
def toy_frame() -> pd.DataFrame:
    return make_frame()


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str, name: str = "data.csv") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


@pytest.fixture(scope="session")
def dev_frame() -> pd.DataFrame:
    return load_labelled(DEFAULT_DATA)
