"""End-to-end: the operator on the real control plane, gates judged by real scoring processes.

Given/When/Then journeys of a FraudModel's life: first deployment, a good new version, a bad one, an SLO failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.operator.conftest import FraudModels
from tests.operator.harness import OperatorProcess, PodSimulator, SelectorWatcher, wait_for

Status = dict[str, Any]


def fast(p99_seconds: float = 5.0, scale_down_delay: int = 8, **rollout: Any) -> dict[str, Any]:
    """Short analysis windows for tests. The default p99 bound is generous on purpose: these tests are
    about the rollout mechanism and share two cores with the whole stack, where one request slowed by
    a busy machine (seen: 2.1 s under load 7) must not fail them; the SLO gate itself is proven by a
    bound no real service meets (test_post_promotion_slo_failure_switches_back)."""
    return {
        "rollout": {
            "scaleDownDelaySeconds": scale_down_delay,
            "postPromotionAnalysis": {
                "delaySeconds": 4,
                "windowSeconds": 20,
                "minRequests": 5,
                "maxP99LatencySeconds": p99_seconds,
            },
            **rollout,
        }
    }


def healthy_on(colour: str, revision: int | None = None) -> Callable[[Status], bool]:
    def check(status: Status) -> bool:
        return (
            status.get("phase") == "Healthy"
            and status.get("activeColour") == colour
            and (revision is None or status.get("activeRevision") == revision)
        )

    return check


@pytest.mark.e2e
def test_create_makes_blue_active_and_healthy(fraudmodels: FraudModels, operator: OperatorProcess) -> None:
    # Given a running operator, When a FraudModel is applied
    assert fraudmodels.apply("good-v1", **fast()).returncode == 0
    # Then blue becomes active and Healthy, the stable Service selects blue
    status = fraudmodels.wait(healthy_on("blue"), "blue Healthy", timeout=120)
    assert status["activeRevision"] == 1 and status["stableRevision"] == 1
    assert fraudmodels.selector_colour("fm") == "blue"
    assert fraudmodels.selector_colour("fm-preview") == "blue"
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    assert conditions == {"Available": "True", "Progressing": "False", "Degraded": "False", "Paused": "False"}
    # And the printer columns show version, colour, revision, phase
    out = fraudmodels.kubectl("get", "fraudmodel", "fm", "-n", fraudmodels.namespace, check=True).stdout
    header, row = out.splitlines()[:2]
    assert header.split()[:6] == ["NAME", "ACTIVE", "VERSION", "COLOUR", "REVISION", "PHASE"]
    assert row.split()[2:5] == ["blue", "1", "Healthy"]
    assert "good-v1" in row.split()[1]
    assert "SwitchService" in fraudmodels.events()


@pytest.mark.e2e
def test_good_version_rolls_out_blue_green(
    fraudmodels: FraudModels, operator: OperatorProcess, simulator: PodSimulator, watcher: SelectorWatcher
) -> None:
    # Given blue serving good-v1 with live traffic
    fraudmodels.apply("good-v1", **fast())
    fraudmodels.wait(healthy_on("blue"), "blue Healthy", timeout=120)
    simulator.traffic = True
    # When the model changes to good-v2
    fraudmodels.set_model("good-v2")
    # Then green is previewed, analysed, switched to and kept after its SLO checks
    status = fraudmodels.wait(healthy_on("green", 2), "green Healthy with revision 2", timeout=240)
    assert status["stableRevision"] == 2
    runs = {r["kind"]: r for r in status["analysis"]}
    assert runs["pre"]["result"] == "Passed" and "PR-AUC" in runs["pre"]["message"]
    assert runs["post"]["result"] == "Passed" and "p99" in runs["post"]["message"], runs["post"]
    assert fraudmodels.selector_colour("fm") == "green"
    # And blue is scaled down only after the scale-down delay
    assert fraudmodels.replicas("blue") > 0, "blue must stay warm during scaleDownDelaySeconds"
    wait_for(lambda: fraudmodels.replicas("blue") == 0, 60, "blue scaled to 0")
    # And the stable Service never selected a colour without ready pods
    assert watcher.caught_up().stable_colours == ["blue", "green"]
    assert "green" in watcher.preview_colours
    assert watcher.violations == [], f"{len(watcher.violations)} of {len(watcher.samples)} samples"
    reasons = fraudmodels.events()
    for reason in (
        "WaitingForPreview",
        "PrePromotionAnalysis",
        "AnalysisPassed",
        "SwitchService",
        "RolloutCompleted",
        "ScaleDown",
    ):
        assert reason in reasons, reason
    assert simulator.errors == []


@pytest.mark.e2e
def test_bad_model_is_not_promoted(
    fraudmodels: FraudModels, operator: OperatorProcess, watcher: SelectorWatcher
) -> None:
    # Given blue serving good-v1
    fraudmodels.apply("good-v1", **fast())
    fraudmodels.wait(healthy_on("blue"), "blue Healthy", timeout=120)
    # When a model trained on shuffled labels is rolled out
    fraudmodels.set_model("bad")
    # Then the quality gate fails: Degraded, not promoted, blue keeps all traffic, green scaled away
    status = fraudmodels.wait(lambda s: s.get("phase") == "Degraded", "Degraded", timeout=180)
    assert status["currentStep"] == "AnalysisFailed"
    assert "PR-AUC below the champion's" in status["message"]
    assert status["activeColour"] == "blue" and status["activeRevision"] == 1
    assert fraudmodels.selector_colour("fm") == "blue"
    wait_for(lambda: fraudmodels.selector_colour("fm-preview") == "blue", 20, "preview back on blue")
    wait_for(lambda: fraudmodels.replicas("green") == 0, 20, "green scaled to 0")
    assert "AnalysisFailed" in fraudmodels.events()
    assert set(watcher.caught_up().stable_colours) == {"blue"} and watcher.violations == []


@pytest.mark.e2e
def test_post_promotion_slo_failure_switches_back(
    fraudmodels: FraudModels, operator: OperatorProcess, simulator: PodSimulator, watcher: SelectorWatcher
) -> None:
    # Given blue serving good-v1 with live traffic and a p99 SLO of 0.1 ms no real service can meet
    fraudmodels.apply("good-v1", **fast(p99_seconds=0.0001))
    fraudmodels.wait(healthy_on("blue"), "blue Healthy", timeout=120)
    simulator.traffic = True
    # When good-v2 passes its pre-promotion analysis and takes the traffic
    fraudmodels.set_model("good-v2")
    fraudmodels.wait(lambda s: s.get("activeColour") == "green", "switched to green", timeout=180)
    # Then the SLO check fails and the operator switches back to blue by itself
    status = fraudmodels.wait(
        lambda s: s.get("currentStep") == "RolledBack",
        f"RolledBack ({simulator.errors[-3:]}, {simulator.requests_sent} sent)",
        timeout=120,
    )
    assert status["phase"] == "Degraded" and status["activeColour"] == "blue" and status["activeRevision"] == 1
    assert "p99 latency too high" in status["message"]
    assert fraudmodels.selector_colour("fm") == "blue"
    wait_for(lambda: fraudmodels.replicas("green") == 0, 20, "green scaled to 0")
    history = {r["revision"]: r["outcome"] for r in status["revisions"]}
    assert history == {1: "Stable", 2: "Failed"}
    assert "RolledBack" in fraudmodels.events()
    assert watcher.caught_up().stable_colours == ["blue", "green", "blue"] and watcher.violations == []
    assert simulator.errors == []
