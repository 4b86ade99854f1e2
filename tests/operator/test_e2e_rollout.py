"""End-to-end: the operator on the real control plane, gates judged by real scoring processes.

Given/When/Then journeys of a FraudModel's life: first deployment, a good new version, a bad one, an SLO failure.
"""

from __future__ import annotations

import pytest

from tests.operator.conftest import FraudModels
from tests.operator.harness import OperatorProcess, PodSimulator

FAST = {"rollout": {"scaleDownDelaySeconds": 8, "postPromotionAnalysis": {
    "delaySeconds": 4, "windowSeconds": 20, "minRequests": 5, "maxP99LatencySeconds": 2.0}}}


def healthy_on(colour: str, model_hint: str | None = None):  # type: ignore[no-untyped-def]
    def check(status: dict) -> bool:  # type: ignore[type-arg]
        return status.get("phase") == "Healthy" and status.get("activeColour") == colour and (
            model_hint is None or model_hint in str(status.get("activeVersion")))
    return check


@pytest.mark.e2e
def test_create_makes_blue_active_and_healthy(fraudmodels: FraudModels, operator: OperatorProcess,
                                              simulator: PodSimulator) -> None:
    # Given a running operator, When a FraudModel is applied
    assert fraudmodels.apply("good-v1", **FAST).returncode == 0
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
