"""Refit on all labelled rows: which rows, which model, and what the pipeline reports afterwards."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lfd.contract import FEATURES, LABEL_FIELD, TIME_FIELD
from lfd.model_bundle import ModelBundle
from lfd.training import families
from lfd.training.data import fingerprint
from lfd.training.families import FAMILIES, Family, feature_importance
from lfd.training.pipeline import run
from lfd.training.refit import all_labelled_rows, refit
from lfd.training.report import TrainConfig, TrainingReport
from lfd.training.split import split
from lfd.training.tracking import parent_params, run_tags
from tests.training.conftest import make_frame

PARAMS: dict[Family, dict[str, float]] = {family: families.default_params(family) for family in FAMILIES}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_frame(1500, 90, seed=2)


@pytest.mark.unit
@pytest.mark.parametrize("method", ["time", "stratified"])
def test_all_labelled_rows_is_train_plus_test_once_each_in_time_order(frame: pd.DataFrame, method: str) -> None:
    parts = split(frame, method, 0.2, seed=3)  # type: ignore[arg-type]
    rows = all_labelled_rows(parts)
    assert len(rows) == len(frame) == len(parts.train) + len(parts.test)
    assert rows[TIME_FIELD].is_monotonic_increasing
    assert int(rows[LABEL_FIELD].sum()) == int(frame[LABEL_FIELD].sum())
    # same rows as the input, nothing duplicated or lost (the toy set's Time is unique per row)
    pd.testing.assert_frame_equal(rows, frame.sort_values(TIME_FIELD).reset_index(drop=True))


@pytest.mark.unit
@pytest.mark.parametrize("family", FAMILIES)
def test_refit_uses_the_given_rounds_and_ignores_time(frame: pd.DataFrame, family: Family) -> None:
    booster = refit(family, PARAMS[family], 7, frame, seed=0, threads=1, use_time=False)
    rounds = booster.num_boosted_rounds() if family == "xgboost" else booster.current_iteration()
    assert rounds == 7
    assert feature_importance(family, booster)["Time"] == 0.0
    direct, _ = families.fit(family, PARAMS[family], families.matrices(frame), None, 7, 0, 1)
    x = families.matrices(frame).x
    np.testing.assert_array_equal(families.predict(family, booster, x), families.predict(family, direct, x))


def _toy_run(tmp_path: Path, refit_on_all_rows: bool) -> TrainingReport:
    data = tmp_path / f"toy-{refit_on_all_rows}.csv"
    make_frame(1500, 90, seed=2).to_csv(data, index=False)
    config = TrainConfig(
        data=data,
        time_budget=2,
        families=("xgboost",),
        max_trials=1,
        tracking_uri=None,
        refit_on_all_rows=refit_on_all_rows,
        output_dir=tmp_path / f"out-{refit_on_all_rows}",
        show_progress=False,
    )
    return run(config)


@pytest.mark.unit
def test_pipeline_bundles_the_refit_model_and_keeps_held_out_metrics(tmp_path: Path) -> None:
    held_out, refitted = _toy_run(tmp_path, False), _toy_run(tmp_path, True)
    # the same evaluated model, so the same held-out metrics and threshold
    assert refitted.results[0].metrics == held_out.results[0].metrics
    np.testing.assert_array_equal(refitted.results[0].test_scores, held_out.results[0].test_scores)
    # without refit the bundle is the evaluated model; with it, a model that also learnt the test rows
    np.testing.assert_array_equal(held_out.results[0].served_test_scores, held_out.results[0].test_scores)
    assert not np.array_equal(refitted.results[0].served_test_scores, refitted.results[0].test_scores)
    bundle = ModelBundle.load(refitted.results[0].bundle_dir)
    np.testing.assert_array_equal(
        bundle.predict_proba(refitted.split.test[list(FEATURES)]), refitted.results[0].served_test_scores
    )
    meta = bundle.metadata
    assert meta.params["refit_on_all_rows"] is True and meta.params["fit_rows"] == 1500
    assert meta.params["num_boost_round"] == refitted.results[0].tuned.rounds
    assert meta.training_fingerprint == refitted.fingerprint == fingerprint(all_labelled_rows(refitted.split))
    assert refitted.evaluation_fingerprint == held_out.fingerprint == fingerprint(refitted.split.train)
    assert meta.metrics["pr_auc_weighted"] == refitted.results[0].metrics.pr_auc_weighted


@pytest.mark.unit
@pytest.mark.parametrize(("refit_on_all_rows", "tag"), [(True, "true"), (False, "false")])
def test_mlflow_runs_say_whether_the_model_was_refit_and_that_metrics_are_held_out(
    frame: pd.DataFrame, refit_on_all_rows: bool, tag: str
) -> None:
    report = TrainingReport(split(frame), [], "xgboost", fingerprint="sha256:all", evaluation_fingerprint="sha256:ev")
    config = TrainConfig(refit_on_all_rows=refit_on_all_rows)
    tags = run_tags(report, config)
    assert tags["lfd.refit_on_all_rows"] == tag
    assert tags["lfd.training_fingerprint"] == "sha256:all" and tags["lfd.evaluation_fingerprint"] == "sha256:ev"
    assert "held-out" in tags["lfd.metrics"]
    assert parent_params(config)["refit_on_all_rows"] is refit_on_all_rows
