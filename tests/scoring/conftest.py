"""Scoring fixtures: a small real model trained on the dev data, and the REAL service (`lfd serve`)
running as a separate process on free ports. Nothing here is a mock."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from lfd.contract import FEATURES, LABEL_FIELD

DEV_CSV = Path("/work/shared/data/creditcard/creditcard_dev.csv.gz")
#: The test service accepts at most this many records per request (the default 10,000 is unit-tested).
TEST_MAX_BATCH = 1_000
#: Rows allowed to wait: small enough that a burst of full batches is shed (overload test).
TEST_MAX_QUEUE_ROWS = 2_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


@dataclass
class Service:
    """A running `lfd serve` process (its own session, killed by process group at teardown)."""

    args: list[str]
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    http_port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def start(self) -> Service:
        argv = [sys.executable, "-m", "lfd.cli", "serve", *self.args, "--host", "127.0.0.1",
                "--http-port", str(self.http_port), "--grpc-port", str(self.grpc_port)]  # fmt: skip
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **self.env}, start_new_session=True
            )
        return self

    def wait_live(self, timeout_s: float = 180.0) -> None:
        self._wait("/v2/health/live", timeout_s)

    def wait_ready(self, timeout_s: float = 180.0) -> None:
        self._wait("/v2/health/ready", timeout_s)

    def _wait(self, path: str, timeout_s: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"scoring service exited {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + path, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"{path} not 200 within {timeout_s} s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # our own session: the BentoML arbiter and its worker
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


@pytest.fixture(scope="session")
def service(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The service on the local bundle, with a small max batch and queue so limits are cheap to test."""
    log = tmp_path_factory.mktemp("scoring") / "service.log"
    env = {"LFD_SCORING_MAX_QUEUE_ROWS": str(TEST_MAX_QUEUE_ROWS), "LFD_SCORING_MODEL_VERSION": "bundle-test"}
    running = Service(["--model-dir", str(bundle_dir), "--max-batch", str(TEST_MAX_BATCH)], log, env).start()
    try:
        running.wait_ready()
        yield running
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
def registry_service(registered_model: RegisteredModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The service loading the registered model by alias from the real MLflow server."""
    log = tmp_path_factory.mktemp("scoring-registry") / "service.log"
    args = ["--model-uri", registered_model.alias_uri, "--tracking-uri", registered_model.tracking_uri]
    running = Service(args, log).start()
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()
