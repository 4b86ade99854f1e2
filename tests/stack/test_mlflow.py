"""MLflow smoke test: a run logged to the real tracking server can be read back, artifacts included."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_run_is_logged_to_the_server(mlflow_server: str, tmp_path: Path) -> None:
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(mlflow_server)
    experiment = f"smoke-{uuid.uuid4().hex[:8]}"
    mlflow.set_experiment(experiment)
    note = tmp_path / "note.txt"
    note.write_text("hello from the smoke test")
    with mlflow.start_run() as run:
        mlflow.log_param("alpha", 0.5)
        mlflow.log_metric("pr_auc", 0.91)
        mlflow.log_artifact(str(note))

    client = MlflowClient(mlflow_server)
    fetched = client.get_run(run.info.run_id)
    assert fetched.data.params["alpha"] == "0.5"
    assert fetched.data.metrics["pr_auc"] == pytest.approx(0.91)
    downloaded = Path(client.download_artifacts(run.info.run_id, "note.txt", str(tmp_path / "dl")))
    assert downloaded.read_text() == "hello from the smoke test"
    # Artifacts are proxied by the server, not written to a path the client chose.
    assert fetched.info.artifact_uri.startswith("mlflow-artifacts:")
