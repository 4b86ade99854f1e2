"""Retraining: the rows it learns from, the FraudModel patch and Event (pure), and a real run against
MLflow that registers @challenger and links the run."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from fraud_operator.crd import render
from lfd.contract import LABELLED_COLUMNS
from lfd.drift.retrain import (
    REASON_ANNOTATION,
    RUN_ANNOTATION,
    RetrainConfig,
    RetrainResult,
    fraudmodel_patch,
    retrain,
    retrain_event,
    training_rows,
    update_fraudmodel,
)
from lfd.training.data import DEFAULT_DATA, load_labelled
from tests.conftest import Cluster

NOW = dt.datetime(2026, 11, 30, 22, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return load_labelled(DEFAULT_DATA)


@pytest.mark.unit
def test_recent_rows_come_after_the_reference_in_time(rows: pd.DataFrame) -> None:
    reference, recent = rows.iloc[:1000], rows.iloc[5000:5100]
    combined = training_rows(recent, reference)
    assert len(combined) == 1100 and list(combined.columns) == list(LABELLED_COLUMNS)
    assert combined["Time"].iloc[1000:].min() > reference["Time"].max()
    assert combined["Class"].iloc[1000:].tolist() == recent["Class"].tolist()


@pytest.mark.unit
def test_recent_rows_without_labels_are_refused(rows: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="Class"):
        training_rows(rows.iloc[:10].drop(columns=["Class"]), rows.iloc[:100])


@pytest.mark.unit
def test_fraudmodel_patch_points_at_the_version_and_links_the_run() -> None:
    patch = fraudmodel_patch("9", "http://mlflow/#/experiments/1/runs/abc", "drift share 0.40 >= 0.3", NOW)
    assert patch["spec"]["model"] == {"version": "9", "alias": None, "uri": None}  # merge patch: one of the three
    assert patch["metadata"]["annotations"][RUN_ANNOTATION].endswith("/runs/abc")
    assert patch["metadata"]["annotations"][REASON_ANNOTATION] == "drift share 0.40 >= 0.3"
    event = retrain_event("fraud", "fd", "uid-1", "registered 9", NOW)
    assert event["involvedObject"] == {
        "apiVersion": "ml.livefraud.io/v1alpha1",
        "kind": "FraudModel",
        "name": "fd",
        "namespace": "fraud",
        "uid": "uid-1",
    }
    assert event["reason"] == "RetrainRegistered" and event["lastTimestamp"] == "2026-11-30T22:00:00Z"


@pytest.fixture
def model_name(mlflow_server: str) -> Iterator[str]:
    name = f"fraud-detector-retrain-{uuid.uuid4().hex[:8]}"
    yield name
    MlflowClient().delete_registered_model(name)


@pytest.mark.integration
def test_retrain_registers_a_challenger_and_links_the_run(
    rows: pd.DataFrame, mlflow_server: str, model_name: str, tmp_path: Path
) -> None:
    reference = tmp_path / "reference.csv"
    rows.iloc[:6000].to_csv(reference, index=False)
    recent = rows.iloc[20000:21500]
    config = RetrainConfig(
        tracking_uri=mlflow_server,
        reference_data=reference,
        time_budget=4,
        max_trials=1,
        model_name=model_name,
        experiment="fraud-detector-tests",
    )
    result = retrain(recent, config, "test: drift share 0.40 >= 0.3")
    assert result.refused is None and result.rows == 7500
    assert result.version is not None
    assert MlflowClient().get_model_version_by_alias(model_name, "challenger").version == result.version
    assert result.run_url is not None and result.run_id is not None
    assert result.run_url.startswith(mlflow_server) and result.run_id in result.run_url


@pytest.mark.integration
def test_update_fraudmodel_patches_the_version_and_posts_an_event(kubernetes: Cluster) -> None:
    # Given a FraudModel served from a bundle path, on the real API server with the operator's CRD
    kubectl = Kubectl(kubernetes)
    kubectl("apply", "-f", "-", stdin=render())
    kubectl("wait", "--for=condition=Established", "crd/fraudmodels.ml.livefraud.io", "--timeout=60s")
    namespace = f"retrain-{uuid.uuid4().hex[:8]}"
    kubectl("create", "namespace", namespace)
    try:
        manifest = {
            "apiVersion": "ml.livefraud.io/v1alpha1",
            "kind": "FraudModel",
            "metadata": {"name": "fm", "namespace": namespace},
            "spec": {"model": {"name": "fraud-detector", "uri": "/models/v1"}},
        }
        kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
        # When a retrain that registered version 9 updates it
        result = RetrainResult("9", "abc", "http://mlflow:5000/#/experiments/1/runs/abc", None, 7500)
        patched = update_fraudmodel(namespace, "fm", result, "drift share 0.40 >= 0.3", kubernetes.kubeconfig)
        # Then the stored object serves version 9 (uri removed: the CRD allows exactly one), links the run
        stored = json.loads(kubectl("get", "fraudmodel", "fm", "-n", namespace, "-o", "json"))
        assert stored["spec"]["model"] == {"name": "fraud-detector", "version": "9"}
        assert stored["metadata"]["generation"] == 2 and patched["metadata"]["uid"] == stored["metadata"]["uid"]
        annotations = stored["metadata"]["annotations"]
        assert annotations[RUN_ANNOTATION] == result.run_url
        assert annotations[REASON_ANNOTATION] == "drift share 0.40 >= 0.3"
        # And an Event on the FraudModel says what happened
        events = json.loads(kubectl("get", "events", "-n", namespace, "-o", "json"))["items"]
        mine = [e for e in events if e["reason"] == "RetrainRegistered"]
        assert len(mine) == 1 and mine[0]["involvedObject"]["uid"] == stored["metadata"]["uid"]
        assert "version 9" in mine[0]["message"] and result.run_url in mine[0]["message"]
        # And a retrain without a registered version is refused before anything is written
        with pytest.raises(ValueError, match="no version"):
            update_fraudmodel(namespace, "fm", RetrainResult(None, "r", None, "gate", 10), "x", kubernetes.kubeconfig)
    finally:
        kubectl("delete", "namespace", namespace, "--wait=false")


class Kubectl:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def __call__(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [str(self.cluster.kubectl), *args], input=stdin, capture_output=True, text=True, env=self.cluster.env
        )
        assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
        return done.stdout
