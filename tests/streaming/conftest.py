"""Streaming fixtures: a small real model bundle, the REAL scoring service process (`lfd serve`), unique
topics per test, and a helper that runs the Flink job as a subprocess of the streaming environment."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from lfd.streaming import produce as p
from lfd.streaming.config import StreamConfig
from lfd.streaming.verify import read_outputs
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


def serve(
    model_dir: Path, tmp_path_factory: pytest.TempPathFactory, version: str, colour: str = ""
) -> Iterator[ScoringProcess]:
    """The real scoring service on ``model_dir``, reporting ``version`` (and ``colour``), until the fixture ends."""
    log = tmp_path_factory.mktemp(colour or "scoring") / "scoring.log"
    env = {"LFD_SCORING_MODEL_VERSION": version, **({"LFD_SCORING_COLOUR": colour} if colour else {})}
    service = ScoringProcess(["--model-dir", str(model_dir)], log, env)
    yield service.start_ready()
    service.kill()


@pytest.fixture(scope="module")
def scoring(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScoringProcess]:
    yield from serve(model_dir, tmp_path_factory, "test")


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
    """``make_job(scoring_url, shadow_url=None, env=None, **config)`` → a LocalJob on this test's topics
    (stopped afterwards); ``config`` overrides StreamConfig fields (e.g. ``design="async"``), ``env`` adds
    to the job process's environment (e.g. ``{"TZ": ...}``)."""
    jobs: list[LocalJob] = []

    def build(
        scoring_url: str, shadow_url: str | None = None, env: dict[str, str] | None = None, **overrides: Any
    ) -> LocalJob:
        prefix = topics.transactions.removesuffix("-transactions")
        config = StreamConfig(
            bootstrap=kafka, scoring_url=scoring_url, shadow_url=shadow_url,
            input_topic=topics.transactions, scores_topic=topics.scores, alerts_topic=topics.alerts,
            dlq_topic=topics.dlq, shadow_topic=topics.shadow, group_id=prefix, transactional_id_prefix=prefix,
            checkpoint_dir=str(tmp_path / "checkpoints"), checkpoint_interval_ms=2_000,
            starting_offsets="earliest", batch_size=128, max_in_flight=500, request_timeout_s=2.0,
        )  # fmt: skip
        config = replace(config, **overrides)
        job = LocalJob(config, flink.streaming_python, flink.flink_connector_jar, tmp_path / "job.log", env or {})
        jobs.append(job)
        return job

    yield build  # type: ignore[misc]
    for job in jobs:
        job.stop()


def prove_counts(
    kafka: str, topics: Topics, kinds: Counter[str], job: LocalJob, context: str = ""
) -> list[dict[str, Any]]:
    """The counting proof: ``scores`` + DLQ (read_committed) hold every record produced (``kinds``) exactly
    once, every fraud decision is in ``fraud-alerts``; the scores, for further checks."""
    produced = sum(kinds.values())
    valid = kinds[p.VALID]
    result, scores = read_outputs(
        kafka, scores_topic=topics.scores, dlq_topic=topics.dlq, alerts_topic=topics.alerts, produced=produced,
        valid=valid,
    )  # fmt: skip
    frauds = sum(1 for s in scores if s["decision"] == "fraud")
    detail = f"{result}\n{context}\njob log:\n{job.log_tail()}"
    assert result.scored == valid, detail
    assert result.dead_lettered == produced - valid, detail
    assert result.exact, detail
    assert frauds > 0, "the proof needs fraud decisions to check alerts against"
    assert {s["model"]["name"] for s in scores} == {"fraud-detector"}
    assert all(s["reasons"] for s in scores if s["decision"] == "fraud"), detail
    if job.config.design == "batch":  # reasons only where used; the input's key on every score
        assert not any(s["reasons"] for s in scores if s["decision"] == "legit"), detail
        assert all(s["kafka_key"] == s["id"] for s in scores), "every score carries its input's Kafka key"
    return scores
