"""Tuning on a toy set: finds the signal, keeps out-of-fold scores, ignores Time by default."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from lfd.model_bundle import BundleMetadata, ModelBundle
from lfd.training.families import FAMILIES, Family, feature_importance
from lfd.training.tune import TuneConfig, tune, validation_folds
from tests.training.conftest import make_frame


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_frame(1500, 90, seed=1)


@pytest.mark.unit
def test_time_folds_validate_on_later_rows(frame: pd.DataFrame) -> None:
    folds = validation_folds(frame, TuneConfig(time_budget=1, folds=2))
    assert [len(f.valid.y) for f in folds] == [300, 300]
    assert len(folds[0].fit.y) == 900 and len(folds[1].fit.y) == 1200
    assert (folds[0].fit.x[:, 0] == 0.0).all()  # Time neutralised


@pytest.mark.unit
def test_four_time_folds_tile_the_latest_40_percent_in_order(frame: pd.DataFrame) -> None:
    folds = validation_folds(frame, TuneConfig(time_budget=1, folds=4, use_time=True))  # keep Time to check order
    assert [len(f.valid.y) for f in folds] == [150, 150, 150, 150]
    assert [len(f.fit.y) for f in folds] == [900, 1050, 1200, 1350]
    for fold, later in itertools.pairwise(folds):
        assert fold.fit.x[:, 0].max() < fold.valid.x[:, 0].min()  # expanding window: fit rows come first
        assert fold.valid.x[:, 0].max() < later.valid.x[:, 0].min()  # blocks tile the span in order


@pytest.mark.unit
def test_one_fold_is_refused(frame: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="folds must be at least 2"):
        validation_folds(frame, TuneConfig(time_budget=1, folds=1))


@pytest.mark.unit
@pytest.mark.parametrize("family", FAMILIES)
def test_tune_finds_the_signal_and_ignores_time(frame: pd.DataFrame, family: Family) -> None:
    tuned = tune(family, frame, TuneConfig(time_budget=5, max_trials=2, threads=1, show_progress=False))
    assert tuned.validation_pr_auc > 0.8
    assert 1 <= tuned.n_trials <= 2 and tuned.rounds >= 1
    assert len(tuned.validation_scores) == len(tuned.validation_y) == 600  # 4 folds x 150 rows
    assert tuned.selection is not None and tuned.selection.trial in (0, 1)
    # the kept trial's per-fold scores (the family choice compares them): one per fold, their mean is the score
    assert len(tuned.selection.fold_scores) == 4
    assert np.mean(tuned.selection.fold_scores) == pytest.approx(tuned.validation_pr_auc)
    assert feature_importance(family, tuned.booster)["Time"] == 0.0
    bundle = ModelBundle(tuned.booster, BundleMetadata(flavor=family, threshold=0.5))
    later = frame.copy()
    later["Time"] += 1e6
    np.testing.assert_array_equal(bundle.predict_proba(frame), bundle.predict_proba(later))
