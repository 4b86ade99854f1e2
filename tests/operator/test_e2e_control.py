"""End-to-end: rollback and control through the kubectl plugin and through plain kubectl; restarts mid-rollout."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.operator.conftest import FraudModels
from tests.operator.harness import OperatorProcess, PodSimulator, SelectorWatcher, wait_for
from tests.operator.test_e2e_rollout import fast, healthy_on

PLUGIN = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "kubectl-fraudmodel"


def plugin(kubernetes: Any, namespace: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`kubectl fraudmodel ...` exactly as a user runs it: kubectl finds the plugin on PATH."""
    env = {**kubernetes.env, "PATH": f"{PLUGIN.parent}:{kubernetes.env['PATH']}"}
    return subprocess.run(
        [str(kubernetes.kubectl), "fraudmodel", "-n", namespace, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def two_revisions(fraudmodels: FraudModels, simulator: PodSimulator, **spec: Any) -> None:
    """Given: revision 1 (good-v1) and revision 2 (good-v2, active on green), both Stable."""
    fraudmodels.apply("good-v1", **spec)
    fraudmodels.wait(healthy_on("blue", 1), "blue Healthy", timeout=120)
    simulator.traffic = True
    fraudmodels.set_model("good-v2")
    fraudmodels.wait(lambda s: healthy_on("green", 2)(s) and s.get("stableRevision") == 2, "green stable", timeout=240)


@pytest.mark.e2e
def test_rollback_by_plugin_annotation_and_patch(
    kubernetes: Any,
    fraudmodels: FraudModels,
    operator: OperatorProcess,
    simulator: PodSimulator,
    watcher: SelectorWatcher,
) -> None:
    two_revisions(fraudmodels, simulator, **fast(scale_down_delay=600))
    # When `kubectl fraudmodel rollback` (default: previous stable revision) while blue is still warm
    result = plugin(kubernetes, fraudmodels.namespace, "rollback", "fm", "--wait", "--timeout", "60")
    # Then traffic is back on blue within seconds, without a new analysis
    assert result.returncode == 0, result.stderr
    assert "revision 1 active on blue" in result.stdout
    status = fraudmodels.status()
    assert fraudmodels.selector_colour("fm") == "blue" and status["activeRevision"] == 1
    assert sum(1 for r in status["analysis"] if r["kind"] == "pre") == 1, "a rollback runs no new analysis"
    # When plain kubectl annotate asks for revision 2 (green, now the warm one)
    fraudmodels.kubectl(
        "annotate", "fraudmodel", "fm", "-n", fraudmodels.namespace, "ml.livefraud.io/rollback=2", check=True
    )
    fraudmodels.wait(healthy_on("green", 2), "annotation rollback to green", timeout=60)
    annotations = fraudmodels.get()["metadata"].get("annotations", {})
    assert "ml.livefraud.io/rollback" not in annotations, "the operator removes a handled request"
    # When plain kubectl patch puts the previous model back in the spec
    fraudmodels.set_model("good-v1")
    fraudmodels.wait(healthy_on("blue", 1), "patch rollback to blue", timeout=60)
    # Then history and status tell the story, and traffic never hit a colour without ready pods
    history = plugin(kubernetes, fraudmodels.namespace, "history", "fm")
    assert history.returncode == 0 and "(active)" in history.stdout.splitlines()[1]
    shown = plugin(kubernetes, fraudmodels.namespace, "status", "fm").stdout
    assert "Phase:           Healthy" in shown and "Active:          blue  revision 1" in shown
    assert watcher.caught_up().stable_colours == ["blue", "green", "blue", "green", "blue"]
    assert watcher.violations == []
    assert fraudmodels.events().count("RollbackRequested") >= 2


@pytest.mark.e2e
def test_pause_then_promote_and_abort(
    kubernetes: Any,
    fraudmodels: FraudModels,
    operator: OperatorProcess,
    simulator: PodSimulator,
    watcher: SelectorWatcher,
) -> None:
    # Given blue on good-v1 with autoPromotion off
    fraudmodels.apply("good-v1", **fast(autoPromotion=False))
    fraudmodels.wait(healthy_on("blue", 1), "blue Healthy", timeout=120)
    simulator.traffic = True
    # When good-v2 passes its analysis, Then the rollout pauses with green in preview
    fraudmodels.set_model("good-v2")
    status = fraudmodels.wait(lambda s: s.get("currentStep") == "PausedForPromotion", "paused", timeout=180)
    assert status["phase"] == "Paused" and fraudmodels.selector_colour("fm") == "blue"
    assert fraudmodels.selector_colour("fm-preview") == "green"
    assert {c["type"]: c["status"] for c in status["conditions"]}["Paused"] == "True"
    # When the user aborts, Then traffic stays on blue, green is scaled away, phase Degraded (Aborted)
    assert plugin(kubernetes, fraudmodels.namespace, "abort", "fm").returncode == 0
    status = fraudmodels.wait(lambda s: s.get("haltedReason") == "Aborted", "aborted", timeout=60)
    assert status["phase"] == "Degraded" and status["activeColour"] == "blue"
    wait_for(lambda: fraudmodels.replicas("green") == 0, 30, "green scaled to 0")
    wait_for(lambda: fraudmodels.selector_colour("fm-preview") == "blue", 30, "preview back on blue")
    # When the user retries and promotes, Then green takes the traffic
    assert plugin(kubernetes, fraudmodels.namespace, "retry", "fm").returncode == 0
    fraudmodels.wait(lambda s: s.get("currentStep") == "PausedForPromotion", "paused again", timeout=180)
    assert plugin(kubernetes, fraudmodels.namespace, "promote", "fm").returncode == 0
    fraudmodels.wait(healthy_on("green", 2), "green Healthy after promote", timeout=180)
    assert "RolloutAborted" in fraudmodels.events() and "Promoted" in fraudmodels.events()
    assert watcher.caught_up().stable_colours == ["blue", "green"] and watcher.violations == []


@pytest.mark.e2e
def test_operator_killed_at_each_step_converges(
    fraudmodels: FraudModels, operator: OperatorProcess, simulator: PodSimulator, watcher: SelectorWatcher
) -> None:
    # Given blue on good-v1, autoPromotion off (so one step waits for us)
    fraudmodels.apply("good-v1", **fast(autoPromotion=False))
    fraudmodels.wait(healthy_on("blue", 1), "blue Healthy", timeout=120)
    simulator.traffic = True
    fraudmodels.set_model("good-v2")
    # When the operator is SIGKILLed as each step is reached and restarted
    killed_at: list[str] = []
    for step in ("PrePromotionAnalysis", "PausedForPromotion", "PostPromotionAnalysis"):
        if step == "PostPromotionAnalysis":
            fraudmodels.kubectl(
                "annotate", "fraudmodel", "fm", "-n", fraudmodels.namespace, "ml.livefraud.io/promote=true", check=True
            )
        fraudmodels.wait(lambda s, step=step: s.get("currentStep") == step, step, timeout=180)
        operator.kill()
        killed_at.append(step)
        operator.start()
    # Then the rollout converges to green, stable, with blue scaled down after its delay
    status = fraudmodels.wait(
        lambda s: healthy_on("green", 2)(s) and s.get("stableRevision") == 2, "green stable after restarts", timeout=240
    )
    assert killed_at == ["PrePromotionAnalysis", "PausedForPromotion", "PostPromotionAnalysis"]
    assert operator.starts == 4
    verdicts = {r["kind"]: r["result"] for r in status["analysis"]}
    assert verdicts["pre"] == "Passed"
    # the live traffic reached green and Prometheus saw it: an honest SLO verdict, not "too few requests"
    # (that used to happen when the side-by-side services shared BENTOML_HOME and wiped each other's metrics)
    assert verdicts["post"] == "Passed", status["analysis"]
    wait_for(lambda: fraudmodels.replicas("blue") == 0, 60, "blue scaled to 0")
    assert watcher.caught_up().stable_colours == ["blue", "green"] and watcher.violations == []


INVALID = [
    ("missing model", {}, "spec.model: Required value"),
    ("negative replicas", {"model": {"version": "1"}, "replicas": -1}, "spec.replicas"),
    (
        "min > max",
        {"model": {"version": "1"}, "autoscaling": {"minReplicas": 5, "maxReplicas": 2}},
        "minReplicas must be <= maxReplicas",
    ),
    (
        "unknown strategy",
        {"model": {"version": "1"}, "rollout": {"strategy": "Canary"}},
        'spec.rollout.strategy: Unsupported value: "Canary"',
    ),
    (
        "two model references",
        {"model": {"version": "1", "alias": "champion"}},
        "set exactly one of version, alias or uri",
    ),
    (
        "alert-rate bounds crossed",
        {
            "model": {"version": "1"},
            "rollout": {"prePromotionAnalysis": {"quality": {"minAlertRate": 0.5, "maxAlertRate": 0.1}}},
        },
        "minAlertRate must be <= maxAlertRate",
    ),
    (
        "toleration Exists with a value",
        {
            "model": {"version": "1"},
            "scheduling": {"tolerations": [{"key": "k", "operator": "Exists", "value": "v"}]},
        },
        "operator Exists takes no value",
    ),
    (
        "node selector value not a string",
        {"model": {"version": "1"}, "scheduling": {"nodeSelector": {"disk": 1}}},
        "spec.scheduling.nodeSelector.disk: Invalid value",
    ),
]


@pytest.mark.integration
@pytest.mark.parametrize(("case", "spec", "expected"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_fraudmodels_are_refused_naming_the_field(
    fraudmodels: FraudModels, case: str, spec: dict[str, Any], expected: str
) -> None:
    manifest = {
        "apiVersion": "ml.livefraud.io/v1alpha1",
        "kind": "FraudModel",
        "metadata": {"name": "bad-spec", "namespace": fraudmodels.namespace},
        "spec": spec,
    }
    result = fraudmodels.kubectl("apply", "-f", "-", input_text=json.dumps(manifest))
    assert result.returncode != 0, f"{case} was accepted"
    assert expected in result.stderr, result.stderr


@pytest.mark.integration
def test_kubectl_explain_teaches_the_fields(fraudmodels: FraudModels) -> None:
    result = fraudmodels.kubectl("explain", "fraudmodel.spec.rollout.scaleDownDelaySeconds", check=True)
    assert "instant rollback window" in " ".join(result.stdout.split())


@pytest.mark.e2e
def test_no_finalizer_so_a_delete_completes_while_the_operator_is_down(
    fraudmodels: FraudModels, operator: OperatorProcess, simulator: PodSimulator
) -> None:
    # Given a FraudModel the operator reconciles, and one still carrying the finalizer older operators put there
    fraudmodels.apply("good-v1", **fast())
    old = fraudmodels.manifest("good-v1", name="old", **fast())
    old["metadata"]["finalizers"] = ["ml.livefraud.io/finalizer"]
    fraudmodels.kubectl("apply", "-f", "-", input_text=json.dumps(old), check=True)
    fraudmodels.wait(lambda s: bool(s.get("phase")), "first reconcile", timeout=60)
    fraudmodels.wait(lambda s: s.get("observedGeneration") == 1, "first reconcile of old", timeout=60, name="old")
    # Then none gets a finalizer, however many reconciles pass, and the leftover one is removed
    wait_for(lambda: not fraudmodels.get("old")["metadata"].get("finalizers"), 30, "the old finalizer removed")
    for _ in range(6):
        meta = fraudmodels.get()["metadata"]
        assert meta.get("finalizers") in (None, []), meta
        # nor any kopf bookkeeping (progress, last-handled configuration): kopf only watches, our loop acts
        assert not [k for k in meta.get("annotations") or {} if "kopf" in k or "last-handled" in k], meta
        time.sleep(0.5)
    # When the operator is stopped and the FraudModel deleted
    operator.stop()
    deleted = fraudmodels.kubectl("delete", "fraudmodel", "fm", "-n", fraudmodels.namespace, "--timeout=30s")
    # Then the delete completes: nothing waits for the operator
    assert deleted.returncode == 0, deleted.stderr
    gone = fraudmodels.kubectl("get", "fraudmodel", "fm", "-n", fraudmodels.namespace)
    assert gone.returncode != 0 and "NotFound" in gone.stderr
