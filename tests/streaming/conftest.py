"""Streaming fixtures: a small real model bundle, the REAL scoring service process (`lfd serve`), unique
topics per test, and a helper that runs the Flink job as a subprocess of the streaming environment."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from lfd.stack.components.kafka import ensure_topics
from lfd.stack.settings import Settings
from lfd.streaming.config import StreamConfig
from lfd.streaming.local import LocalJob, kill_tree


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small XGBoost bundle trained on the real dev rows (seconds, 2 threads)."""
    import numpy as np
    import xgboost as xgb

    from lfd.contract import FEATURES
    from lfd.model_bundle import BundleMetadata, ModelBundle
    from lfd.streaming.produce import load_rows

    rows = load_rows()
    x = np.array([[r.features[f] for f in FEATURES] for r in rows], dtype=np.float32)
    y = np.array([r.fraud for r in rows], dtype=np.float32)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 4, "eta": 0.3, "nthread": 2},
        xgb.DMatrix(x, label=y, feature_names=list(FEATURES)),
        num_boost_round=30,
    )
    directory = tmp_path_factory.mktemp("bundle")
    return ModelBundle(booster, BundleMetadata(flavor="xgboost", threshold=0.5)).save(directory)


@dataclass
class ScoringProcess:
    """The real scoring service (`lfd serve`) as a process we can kill and restart on the same port."""

    settings: Settings
    model_dir: Path
    log: Path
    http_port: int
    grpc_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, timeout_s: float = 120.0) -> None:
        argv = [
            str(self.settings.repo / ".venv" / "bin" / "lfd"), "serve",
            "--model-dir", str(self.model_dir), "--host", "127.0.0.1",
            "--http-port", str(self.http_port), "--grpc-port", str(self.grpc_port),
        ]  # fmt: skip
        env = {**os.environ, "LFD_SCORING_MODEL_VERSION": "test"}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"scoring service exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/v2/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"scoring service not ready in {timeout_s} s: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            kill_tree(self.process.pid)  # the server and its workers (own sessions) all go
            self.process.wait(10)
        time.sleep(0.5)


@pytest.fixture(scope="module")
def scoring(
    stack_settings: Settings, model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ScoringProcess]:
    log = tmp_path_factory.mktemp("scoring") / "scoring.log"
    service = ScoringProcess(stack_settings, model_dir, log, free_port(), free_port())
    service.start()
    yield service
    service.kill()


@dataclass(frozen=True)
class Topics:
    transactions: str
    scores: str
    alerts: str
    dlq: str
    shadow: str


@pytest.fixture
def topics(kafka: str, stack_settings: Settings) -> Topics:
    prefix = f"st-{uuid.uuid4().hex[:8]}"
    names = Topics(*(f"{prefix}-{t}" for t in ("transactions", "scores", "alerts", "dlq", "shadow")))
    ensure_topics(
        stack_settings, {names.transactions: 2, names.scores: 2, names.alerts: 1, names.dlq: 1, names.shadow: 1}
    )
    return names


@pytest.fixture
def make_job(flink: Settings, kafka: str, topics: Topics, tmp_path: Path) -> Iterator[type]:
    """``make_job(scoring_url, shadow_url=None)`` → a LocalJob on this test's topics (stopped afterwards)."""
    jobs: list[LocalJob] = []

    def build(scoring_url: str, shadow_url: str | None = None) -> LocalJob:
        prefix = topics.transactions.removesuffix("-transactions")
        config = StreamConfig(
            bootstrap=kafka, scoring_url=scoring_url, shadow_url=shadow_url,
            input_topic=topics.transactions, scores_topic=topics.scores, alerts_topic=topics.alerts,
            dlq_topic=topics.dlq, shadow_topic=topics.shadow, group_id=prefix, transactional_id_prefix=prefix,
            checkpoint_dir=str(tmp_path / "checkpoints"), checkpoint_interval_ms=2_000,
            starting_offsets="earliest", batch_size=128, max_in_flight=500, request_timeout_s=2.0,
        )  # fmt: skip
        job = LocalJob(config, flink.streaming_python, flink.flink_connector_jar, tmp_path / "job.log")
        jobs.append(job)
        return job

    yield build  # type: ignore[misc]
    for job in jobs:
        job.stop()
