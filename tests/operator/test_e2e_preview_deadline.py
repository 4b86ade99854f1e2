"""End-to-end: a FraudModel pointing at a registry version whose bundle is missing fails its revision with the
scoring service's own reason, and the active colour keeps serving.

Before: the scoring service (rightly) refused the model and retried its load, the preview never became ready,
and the rollout waited forever with no reason in status. Now ``progressDeadlineSeconds`` bounds the wait and the
operator records what the preview's ``/v2/health/ready`` says.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from mlflow import MlflowClient

from lfd_dev.scoring_process import ScoringProcess
from lfd_dev.settings import Settings
from tests.operator.conftest import FraudModels, Kubectl
from tests.operator.harness import OperatorProcess, PodSimulator, ScoringPool, SelectorWatcher, wait_for
from tests.operator.test_e2e_rollout import fast, healthy_on

DEADLINE_S = 15


@pytest.fixture
def missing_bundle(mlflow_server: str, tmp_path: Path) -> str:
    """A registered version whose run holds an artifact directory but no model bundle: what a botched
    registration (or an artifact store that lost the files) leaves behind."""
    client = MlflowClient(mlflow_server)
    experiment = client.create_experiment(f"op-missing-{uuid.uuid4().hex[:8]}")
    run = client.create_run(experiment)
    notes = tmp_path / "notes.txt"
    notes.write_text("no bundle here\n")
    client.log_artifact(run.info.run_id, str(notes), artifact_path="model")
    client.set_terminated(run.info.run_id)
    name = f"fm-missing-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name)
    version = client.create_model_version(name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    return f"models:/{name}/{version.version}"


@dataclass
class WithRegistryModel:
    """The session's bundle processes plus one serving (trying to serve) a registry URI."""

    bundles: ScoringPool
    uri: str
    process: ScoringProcess

    def for_bundle(self, bundle: str) -> ScoringProcess | None:
        return self.process if bundle == self.uri else self.bundles.for_bundle(bundle)


@pytest.fixture
def broken_preview(missing_bundle: str, mlflow_server: str, tmp_path: Path) -> Iterator[tuple[str, ScoringProcess]]:
    process = ScoringProcess(["--model-uri", missing_bundle, "--tracking-uri", mlflow_server], tmp_path / "serve.log")
    process.start()
    try:
        process.wait_live(timeout_s=180)
        yield missing_bundle, process
    finally:
        process.stop()


@pytest.mark.e2e
def test_missing_bundle_fails_the_revision_with_the_services_reason(
    kubernetes: Any,
    kubectl: Kubectl,
    fraudmodels: FraudModels,
    scoring_pool: ScoringPool,
    stack_settings: Settings,
    prometheus: str,
    broken_preview: tuple[str, ScoringProcess],
    tmp_path: Path,
) -> None:
    uri, process = broken_preview
    # The service itself refuses the model, and says why in a structured field.
    answer = httpx.get(f"{process.url}/v2/health/ready", timeout=5)
    assert answer.status_code == 503 and answer.json()["ready"] is False
    pool = WithRegistryModel(scoring_pool, uri, process)
    sim = PodSimulator(kubectl, fraudmodels.namespace, pool, stack_settings, tmp_path / "service-map.json").start()
    op = OperatorProcess(kubernetes.env, fraudmodels.namespace, sim.service_map, prometheus, tmp_path / "op.log")
    watcher = SelectorWatcher(kubectl, fraudmodels.namespace).start()
    op.start()
    try:
        # Given blue serving good-v1
        assert fraudmodels.apply("good-v1", **fast(progressDeadlineSeconds=DEADLINE_S)).returncode == 0
        fraudmodels.wait(healthy_on("blue", 1), "blue Healthy", timeout=120)
        sim.traffic = True
        # When the spec points at the registry version without a bundle
        patch = {"spec": {"model": {"uri": uri}}}
        kubectl("patch", "fraudmodel", "fm", "-n", fraudmodels.namespace, "--type", "merge", "-p", json.dumps(patch),
                check=True)  # fmt: skip
        # Then, past the deadline, the revision fails with the service's reason in status
        status = fraudmodels.wait(
            lambda s: s.get("currentStep") == "AnalysisFailed", "revision 2 failed", timeout=DEADLINE_S + 120
        )
        reason = httpx.get(f"{process.url}/v2/health/ready", timeout=5).json()["reason"]
        error = reason.split(" (attempt")[0]  # the attempt counter moves on; the error itself does not
        assert status["phase"] == "Degraded" and status["haltedReason"] == "AnalysisFailed"
        assert f"progressDeadlineSeconds={DEADLINE_S}" in status["message"], status["message"]
        assert error in status["message"], (error, status["message"])
        degraded = {c["type"]: c for c in status["conditions"]}["Degraded"]
        assert degraded["status"] == "True" and error in degraded["message"], degraded
        assert [r["outcome"] for r in status["revisions"]] == ["Stable", "Failed"]
        # And the old colour still serves: the stable Service selects blue, which answers scores
        assert status["activeColour"] == "blue" and status["activeRevision"] == 1
        assert fraudmodels.selector_colour("fm") == "blue" and fraudmodels.selector_colour("fm-preview") == "blue"
        wait_for(lambda: fraudmodels.replicas("green") == 0, 30, "green scaled to 0")
        sent = sim.requests_sent
        wait_for(lambda: sim.requests_sent >= sent + 5, 30, "live traffic served by blue")
        assert not [e for e in sim.errors if "traffic" in e], sim.errors[-3:]
        assert {"AnalysisFailed", "WaitingForPreview"} <= set(fraudmodels.events())
        assert watcher.caught_up().stable_colours == ["blue"]
        assert watcher.violations == [], f"{len(watcher.violations)} of {len(watcher.samples)} samples"
    finally:
        op.stop()
        watcher.stop()
        sim.stop()
