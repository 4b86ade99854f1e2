"""Scoring fixtures: a small real model trained on the dev data, and the REAL service (`lfd serve`)
running as a separate process on free ports. Nothing here is a mock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lfd.constants import DEV_DATA
from lfd.contract import FEATURES, LABEL_FIELD
from lfd_dev.scoring_process import ScoringProcess

DEV_CSV = DEV_DATA
#: The test service accepts at most this many records per request (the default 10,000 is unit-tested).
TEST_MAX_BATCH = 1_000
#: Rows allowed to wait: small enough that a burst of full batches is shed (overload test).
TEST_MAX_QUEUE_ROWS = 2_000


@pytest.fixture(scope="session")
def dev_frame() -> pd.DataFrame:
    return pd.read_csv(DEV_CSV)


@pytest.fixture(scope="session")
def bundle_dir(dev_frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small XGBoost bundle fitted on the real dev rows in a few seconds (1 thread)."""
    import xgboost as xgb

    from lfd.model_bundle import BundleMetadata, ModelBundle

    x = dev_frame[list(FEATURES)].to_numpy(np.float32)
    y = dev_frame[LABEL_FIELD].to_numpy(np.float32)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 4, "eta": 0.3, "nthread": 1, "seed": 7},
        xgb.DMatrix(x, label=y, feature_names=list(FEATURES)),
        num_boost_round=40,
    )
    directory = tmp_path_factory.mktemp("bundle")
    metadata = BundleMetadata(flavor="xgboost", threshold=0.4)
    return ModelBundle(booster, metadata).save(directory, reference=dev_frame[list(FEATURES)].head(200))


@pytest.fixture(scope="session")
def service(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScoringProcess]:
    """The service on the local bundle, with a small max batch and queue so limits are cheap to test."""
    log = tmp_path_factory.mktemp("scoring") / "service.log"
    env = {"LFD_SCORING_MAX_QUEUE_ROWS": str(TEST_MAX_QUEUE_ROWS), "LFD_SCORING_MODEL_VERSION": "bundle-test"}
    running = ScoringProcess(["--model-dir", str(bundle_dir), "--max-batch", str(TEST_MAX_BATCH)], log, env)
    try:
        yield running.start_ready()
    finally:
        running.stop()


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    version: str
    alias: str
    tracking_uri: str

    @property
    def alias_uri(self) -> str:
        return f"models:/{self.name}@{self.alias}"


@pytest.fixture(scope="session")
def registered_model(mlflow_server: str, bundle_dir: Path, dev_frame: pd.DataFrame) -> RegisteredModel:
    """The bundle logged as the project's pyfunc model and registered under a test-only name + alias
    (never touching the real ``fraud-detector`` aliases)."""
    import mlflow
    from mlflow import MlflowClient

    from lfd.model_bundle import MLFLOW_ARTIFACT_KEY
    from lfd.training.pyfunc_model import FraudDetectorModel

    name, alias = "fraud-detector-scoring-test", "champion"
    mlflow.set_tracking_uri(mlflow_server)
    mlflow.set_experiment("scoring-tests")
    with mlflow.start_run(run_name="scoring-parity-fixture"):
        info = mlflow.pyfunc.log_model(
            name="model", python_model=FraudDetectorModel(), artifacts={MLFLOW_ARTIFACT_KEY: str(bundle_dir)},
            input_example=dev_frame[list(FEATURES)].head(2),
        )  # fmt: skip
    version = str(mlflow.register_model(info.model_uri, name).version)
    MlflowClient().set_registered_model_alias(name, alias, version)
    return RegisteredModel(name, version, alias, mlflow_server)


@pytest.fixture(scope="session")
def registry_service(
    registered_model: RegisteredModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ScoringProcess]:
    """The service loading the registered model by alias from the real MLflow server."""
    log = tmp_path_factory.mktemp("scoring-registry") / "service.log"
    args = ["--model-uri", registered_model.alias_uri, "--tracking-uri", registered_model.tracking_uri]
    running = ScoringProcess(args, log)
    try:
        yield running.start_ready()
    finally:
        running.stop()
