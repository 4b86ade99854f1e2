"""Evidently on real ULB rows: a same-distribution window shows little drift; a shifted one shows a lot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from lfd.contract import FEATURES
from lfd.drift.evidently_report import DRIFT_FEATURES, run_report
from lfd.training.data import DEFAULT_DATA, load_labelled


def fake_scores(frame: pd.DataFrame) -> npt.NDArray[np.float64]:
    """A score that depends on the features (a logistic of V14 and V17, strong fraud signals here)."""
    z = frame["V14"].to_numpy(dtype=np.float64) + frame["V17"].to_numpy(dtype=np.float64)
    return np.asarray(1.0 / (1.0 + np.exp(3.0 + z)), dtype=np.float64)


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return load_labelled(DEFAULT_DATA)[list(FEATURES)].sample(frac=1.0, random_state=0).reset_index(drop=True)


@pytest.mark.integration
def test_same_distribution_little_drift_shifted_window_drifts(rows: pd.DataFrame, tmp_path: Path) -> None:
    reference, current = rows.iloc[:5000], rows.iloc[5000:7000]
    calm = run_report(reference, fake_scores(reference), current, fake_scores(current), tmp_path / "calm.html")
    assert calm.summary.current_rows == 2000 and len(calm.summary.features) == len(DRIFT_FEATURES) == 29
    assert calm.summary.share_drifted <= 0.1, calm.summary.drifted_features
    assert calm.summary.score is not None and not calm.summary.score.drifted

    shifted = current.copy()
    moved = [f"V{i}" for i in range(1, 13)]
    shifted[moved] = shifted[moved] * 1.5 + 1.0
    drift = run_report(reference, fake_scores(reference), shifted, fake_scores(shifted), tmp_path / "drift.html")
    assert set(moved) <= set(drift.summary.drifted_features)
    assert drift.summary.share_drifted >= 12 / 29
    page = drift.html.read_text()
    assert drift.html.stat().st_size > 10_000 and "fraud_probability" in page and "V12" in page


@pytest.mark.unit
def test_a_tiny_window_is_refused(rows: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 50"):
        run_report(rows.iloc[:100], np.zeros(100), rows.iloc[:10], np.zeros(10), tmp_path / "x.html")
