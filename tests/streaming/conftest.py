"""Streaming fixtures: a small real model bundle, the REAL scoring service process (`lfd serve`), unique
topics per test, and a helper that runs the Flink job as a subprocess of the streaming environment."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from lfd.streaming.config import StreamConfig
from lfd_dev.components.kafka import ensure_topics
from lfd_dev.scoring_process import ScoringProcess
from lfd_dev.settings import Settings
from lfd_dev.streaming_job import LocalJob


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


@pytest.fixture(scope="module")
def scoring(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScoringProcess]:
    log = tmp_path_factory.mktemp("scoring") / "scoring.log"
    service = ScoringProcess(["--model-dir", str(model_dir)], log, {"LFD_SCORING_MODEL_VERSION": "test"})
    yield service.start_ready()
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
    """``make_job(scoring_url, shadow_url=None, **config)`` → a LocalJob on this test's topics (stopped
    afterwards); ``config`` overrides StreamConfig fields (e.g. ``design="async"``)."""
    jobs: list[LocalJob] = []

    def build(scoring_url: str, shadow_url: str | None = None, **overrides: Any) -> LocalJob:
        prefix = topics.transactions.removesuffix("-transactions")
        config = StreamConfig(
            bootstrap=kafka, scoring_url=scoring_url, shadow_url=shadow_url,
            input_topic=topics.transactions, scores_topic=topics.scores, alerts_topic=topics.alerts,
            dlq_topic=topics.dlq, shadow_topic=topics.shadow, group_id=prefix, transactional_id_prefix=prefix,
            checkpoint_dir=str(tmp_path / "checkpoints"), checkpoint_interval_ms=2_000,
            starting_offsets="earliest", batch_size=128, max_in_flight=500, request_timeout_s=2.0,
        )  # fmt: skip
        config = replace(config, **overrides)
        job = LocalJob(config, flink.streaming_python, flink.flink_connector_jar, tmp_path / "job.log")
        jobs.append(job)
        return job

    yield build  # type: ignore[misc]
    for job in jobs:
        job.stop()
