"""Registry round trip against the real MLflow server of the local stack.

Given the dev data and a tiny tuning budget, when the pipeline trains, logs and registers, then
plain ``mlflow.pyfunc.load_model("models:/<name>@challenger")`` returns the training-time scores of
the bundled model (refit on all labelled rows after evaluation), the bundle carries what serving
needs, the runs say the model was refit and the metrics are held-out, and ``promote`` moves ``@champion``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from lfd.contract import FEATURES
from lfd.model_bundle import ModelBundle
from lfd.training.pipeline import run
from lfd.training.register import CHALLENGER, CHAMPION, RegistryError, download_bundle, promote
from lfd.training.report import TrainConfig, TrainingReport


@pytest.fixture(scope="module")
def trained(mlflow_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TrainingReport, str]]:
    # A unique name per run: tests never touch the real `fraud-detector` registry entry.
    name = f"fraud-detector-test-{uuid.uuid4().hex[:8]}"
    config = TrainConfig(
        time_budget=2,
        max_trials=1,
        threads=1,
        tracking_uri=mlflow_server,
        model_name=name,
        experiment="fraud-detector-tests",
        output_dir=tmp_path_factory.mktemp("train"),
        show_progress=False,
    )
    yield run(config), name
    MlflowClient().delete_registered_model(name)


@pytest.mark.integration
def test_challenger_pyfunc_returns_training_time_scores(trained: tuple[TrainingReport, str]) -> None:
    report, name = trained
    assert report.registered_version is not None
    model = mlflow.pyfunc.load_model(f"models:/{name}@{CHALLENGER}")
    test_rows = report.split.test[list(FEATURES)]
    out = model.predict(test_rows)
    assert list(out.columns) == ["fraud_probability", "decision"]
    winner = report.result(report.winner)
    np.testing.assert_allclose(out["fraud_probability"].to_numpy(), winner.served_test_scores, rtol=0, atol=1e-6)
    # the registered model is the refit one (it also learnt the test rows), not the evaluated one
    assert not np.allclose(out["fraud_probability"].to_numpy(), winner.test_scores, rtol=0, atol=1e-6)
    expected_decision = (winner.served_test_scores >= winner.metrics.threshold).astype(int)
    np.testing.assert_array_equal(out["decision"].to_numpy(), expected_decision)
    assert 0 < out["decision"].sum() < len(out)


@pytest.mark.integration
def test_registered_bundle_carries_what_serving_needs(trained: tuple[TrainingReport, str]) -> None:
    report, name = trained
    bundle = download_bundle(f"models:/{name}@{CHALLENGER}")
    meta = bundle.metadata
    assert meta.flavor == report.winner
    assert meta.features == FEATURES
    assert meta.training_fingerprint == report.fingerprint and meta.training_fingerprint.startswith("sha256:")
    assert meta.threshold == pytest.approx(report.result(report.winner).metrics.threshold)
    assert meta.metrics["pr_auc_weighted"] > 0.5
    assert meta.cost_model["review_cost"] == 5.0
    assert meta.params["refit_on_all_rows"] is True
    assert meta.params["fit_rows"] == len(report.split.train) + len(report.split.test)
    version = MlflowClient().get_model_version(name, report.registered_version or "")
    assert version.tags["flavor"] == report.winner
    assert version.tags["refit_on_all_rows"] == "true"


@pytest.mark.integration
def test_bundle_reference_sample_is_the_bundled_models_training_features(trained: tuple[TrainingReport, str]) -> None:
    report, _ = trained
    bundle_dir = report.result(report.winner).bundle_dir
    reference = ModelBundle.load(bundle_dir).reference(bundle_dir)
    assert list(reference.columns) == list(FEATURES)
    assert len(reference) == 5000
    # refit on all rows: the reference covers the test period too (a fifth of the rows)
    assert (reference["Time"] >= report.split.test["Time"].min()).mean() > 0.1


@pytest.mark.integration
def test_one_run_per_family_with_metrics_and_plots(trained: tuple[TrainingReport, str]) -> None:
    report, _ = trained
    client = MlflowClient()
    for result in report.results:
        assert result.run_id is not None
        run_data = client.get_run(result.run_id)
        assert run_data.data.metrics["pr_auc_weighted"] == pytest.approx(result.metrics.pr_auc_weighted)
        assert run_data.data.tags["mlflow.parentRunId"] == report.parent_run_id
        assert run_data.data.tags["lfd.refit_on_all_rows"] == "true"
        assert run_data.data.params["refit_on_all_rows"] == "True"
        plots = {Path(a.path).name for a in client.list_artifacts(result.run_id, "plots")}
        assert {
            "pr_curve.png",
            "roc.png",
            "confusion_matrix.png",
            "feature_importance.png",
            "score_distribution.png",
        } <= plots
    # the family choice says why (robust rule: the preferred family unless beaten by more than the spread)
    assert report.parent_run_id is not None
    parent = client.get_run(report.parent_run_id).data.tags
    assert parent["lfd.winner"] == report.winner
    assert parent["lfd.winner_reason"] == report.winner_reason
    assert "lightgbm kept (preferred)" in report.winner_reason or "beats lightgbm" in report.winner_reason


@pytest.mark.integration
def test_promote_moves_champion_to_challenger_then_to_a_chosen_version(trained: tuple[TrainingReport, str]) -> None:
    _, name = trained
    client = MlflowClient()
    challenger = client.get_model_version_by_alias(name, CHALLENGER).version
    assert promote(name) == str(challenger)
    assert client.get_model_version_by_alias(name, CHAMPION).version == challenger
    with pytest.raises(RegistryError, match="version 999"):
        promote(name, "999")
    assert client.get_model_version_by_alias(name, CHAMPION).version == challenger


@pytest.mark.integration
def test_promote_without_challenger_says_so(mlflow_server: str) -> None:
    with pytest.raises(RegistryError, match="alias @challenger"):
        promote(f"no-such-model-{uuid.uuid4().hex[:8]}")
