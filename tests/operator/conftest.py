"""Operator fixtures: the CRD on the real API server, a namespace per test, real scoring processes for the
models, the pod simulator (service map + Prometheus targets + traffic), and the operator as a subprocess."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from fraud_operator.crd import render
from lfd_dev.settings import Settings
from lfd_dev.small_models import train_bundle
from tests.operator.harness import OperatorProcess, PodSimulator, ScoringPool, SelectorWatcher, wait_for

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two good models (different seeds) and a bad one trained on shuffled labels."""
    root = tmp_path_factory.mktemp("bundles")
    return {
        "good-v1": train_bundle(root / "good-v1", seed=1),
        "good-v2": train_bundle(root / "good-v2", seed=2),
        "bad": train_bundle(root / "bad", seed=3, shuffle_labels=True),
    }


@pytest.fixture(scope="session")
def scoring_pool(bundles: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScoringPool]:
    pool = ScoringPool(tmp_path_factory.mktemp("serve-logs"))
    try:
        pool.start(list(bundles.values()))
        yield pool
    finally:
        pool.stop()


@pytest.fixture(scope="session")
def kubectl(kubernetes: Any) -> Kubectl:
    def run(*args: str, input_text: str | None = None, check: bool = False) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(kubernetes.kubectl), *args],
            input=input_text,
            capture_output=True,
            text=True,
            env=kubernetes.env,
            timeout=60,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
        return result

    return run


@pytest.fixture(scope="session")
def crd(kubectl: Kubectl) -> dict[str, Any]:
    kubectl("apply", "-f", "-", input_text=render(), check=True)
    kubectl("wait", "--for=condition=Established", "crd/fraudmodels.ml.livefraud.io", "--timeout=60s", check=True)
    doc: dict[str, Any] = yaml.safe_load(render())
    return doc


@pytest.fixture
def namespace(kubectl: Kubectl, crd: dict[str, Any]) -> Iterator[str]:
    name = f"op-{uuid.uuid4().hex[:8]}"
    kubectl("create", "namespace", name, check=True)
    yield name
    kubectl("delete", "fraudmodels", "--all", "-n", name, "--wait=false")
    kubectl("delete", "namespace", name, "--wait=false")


@pytest.fixture
def simulator(
    kubectl: Kubectl,
    namespace: str,
    scoring_pool: ScoringPool,
    stack_settings: Settings,
    prometheus: str,
    tmp_path: Path,
) -> Iterator[PodSimulator]:
    sim = PodSimulator(kubectl, namespace, scoring_pool, stack_settings, tmp_path / "service-map.json").start()
    yield sim
    sim.stop()


@pytest.fixture
def operator(
    kubernetes: Any, namespace: str, simulator: PodSimulator, prometheus: str, tmp_path: Path
) -> Iterator[OperatorProcess]:
    proc = OperatorProcess(kubernetes.env, namespace, simulator.service_map, prometheus, tmp_path / "operator.log")
    proc.start()
    yield proc
    proc.stop()


@dataclass
class FraudModels:
    """Create, patch and read FraudModels in the test's namespace."""

    kubectl: Kubectl
    namespace: str
    bundles: dict[str, Path]

    def manifest(self, model: str, name: str = "fm", **spec: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": {"uri": str(self.bundles[model])},
            "autoscaling": {"minReplicas": 2, "maxReplicas": 4},
            **spec,
        }
        return {
            "apiVersion": "ml.livefraud.io/v1alpha1",
            "kind": "FraudModel",
            "metadata": {"name": name, "namespace": self.namespace},
            "spec": body,
        }

    def apply(self, model: str, name: str = "fm", **spec: Any) -> subprocess.CompletedProcess[str]:
        return self.kubectl("apply", "-f", "-", input_text=json.dumps(self.manifest(model, name, **spec)))

    def get(self, name: str = "fm") -> dict[str, Any]:
        result = self.kubectl("get", "fraudmodel", name, "-n", self.namespace, "-o", "json", check=True)
        body: dict[str, Any] = json.loads(result.stdout)
        return body

    def status(self, name: str = "fm") -> dict[str, Any]:
        status: dict[str, Any] = self.get(name).get("status") or {}
        return status

    def set_model(self, model: str, name: str = "fm") -> None:
        patch = {"spec": {"model": {"uri": str(self.bundles[model])}}}
        self.kubectl(
            "patch", "fraudmodel", name, "-n", self.namespace, "--type", "merge", "-p", json.dumps(patch), check=True
        )

    def wait(
        self, predicate: Callable[[dict[str, Any]], bool], what: str, timeout: float = 180, name: str = "fm"
    ) -> dict[str, Any]:
        last: dict[str, Any] = {}

        def check() -> dict[str, Any] | None:
            last.clear()
            last.update(self.status(name))
            return dict(last) if predicate(last) else None

        try:
            result: dict[str, Any] = wait_for(check, timeout, what)
        except AssertionError as e:
            brief = {k: last.get(k) for k in ("phase", "currentStep", "message", "activeColour", "activeRevision")}
            raise AssertionError(f"{e}; status {brief}; analysis {last.get('analysis')}") from None
        return result

    def selector_colour(self, service: str) -> str | None:
        result = self.kubectl("get", "service", service, "-n", self.namespace, "-o", "json")
        if result.returncode != 0:
            return None
        colour: str | None = json.loads(result.stdout)["spec"]["selector"].get("ml.livefraud.io/colour")
        return colour

    def replicas(self, colour: str, name: str = "fm") -> int:
        result = self.kubectl("get", "deployment", f"{name}-{colour}", "-n", self.namespace, "-o", "json")
        return int(json.loads(result.stdout)["spec"].get("replicas", 0)) if result.returncode == 0 else 0

    def events(self) -> list[str]:
        result = self.kubectl("get", "events", "-n", self.namespace, "-o", "json", check=True)
        return [e.get("reason", "") for e in json.loads(result.stdout)["items"]]


@pytest.fixture
def fraudmodels(kubectl: Kubectl, namespace: str, bundles: dict[str, Path]) -> FraudModels:
    return FraudModels(kubectl, namespace, bundles)


@pytest.fixture
def watcher(fraudmodels: FraudModels) -> Iterator[SelectorWatcher]:
    """Samples the stable Service's colour and that colour's Ready pods for the whole test."""
    w = SelectorWatcher(fraudmodels.kubectl, fraudmodels.namespace).start()
    yield w
    w.stop()
