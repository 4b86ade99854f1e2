"""Table-driven tests of the pure decision function: one row per blue-green phase transition."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from fraud_operator.builders import template_hash
from fraud_operator.decide import Requests, decide, iso, with_revision
from fraud_operator.observed import ColourState, Observed
from fraud_operator.plan import (
    ClearAnnotations,
    EnsureDeployment,
    EnsureHPA,
    EnsureService,
    PatchSpec,
    Plan,
    RunAnalysis,
    ScaleDeployment,
)
from fraud_operator.spec import AnalysisRun, FraudModelSpec, FraudModelStatus, parse_spec

NOW = 1_800_000_000.0
V1 = parse_spec({"model": {"version": "1"}})
V2 = parse_spec({"model": {"version": "2"}})
H1, H2 = template_hash(V1), template_hash(V2)


def ready(thash: str, n: int = 2) -> ColourState:
    return ColourState(True, thash, n, n, n, n, True, n)


def pending(thash: str, n: int = 1) -> ColourState:
    return ColourState(True, thash, n, n, n, 0, True, 0)


ABSENT = ColourState()


def warm(thash: str, n: int = 2) -> ColourState:
    """Ready pods that no Service selects (the old colour after a switch): no endpoints."""
    return ColourState(True, thash, n, n, n, n, True, 0)


def observed(
    blue: ColourState = ABSENT, green: ColourState = ABSENT, stable: str | None = None, preview: str | None = None
) -> Observed:
    return Observed(
        colours={"blue": blue, "green": green},
        stable_selects=stable,  # type: ignore[arg-type]
        preview_selects=preview,
    )  # type: ignore[arg-type]


def steady_v1(**extra: Any) -> FraudModelStatus:
    """blue active with revision 1 (V1), stable."""
    status, _ = with_revision(FraudModelStatus(), V1, NOW - 100)
    status = status.model_copy(update={"revisions": [status.revisions[0].model_copy(update={"outcome": "Stable"})]})
    return status.model_copy(
        update={
            "active_colour": "blue",
            "active_hash": H1,
            "active_revision": 1,
            "stable_revision": 1,
            "phase": "Healthy",
            "current_step": "Healthy",
            **extra,
        }
    )


def rolling_v2(**extra: Any) -> FraudModelStatus:
    status, _ = with_revision(steady_v1(), V2, NOW - 50)
    return status.model_copy(update=extra)


def run(kind: str, thash: str, result: str, message: str = "m") -> AnalysisRun:
    return AnalysisRun.model_validate({"kind": kind, "templateHash": thash, "result": result, "message": message})


def switched_to_green(**extra: Any) -> FraudModelStatus:
    fields: dict[str, Any] = {
        "active_colour": "green",
        "active_hash": H2,
        "active_revision": 2,
        "previous_colour": "blue",
        "previous_hash": H1,
        "switched_at": iso(NOW - 60),
        "post_analysis_pending": True,
        "scale_down_at": iso(NOW + 30),
    }
    return rolling_v2(**{**fields, **extra})


@dataclass(frozen=True)
class Case:
    name: str
    spec: FraudModelSpec
    observed: Observed
    status: FraudModelStatus
    phase: str | None
    step: str
    expect_steps: tuple[Any, ...] = ()  # each must appear in the plan
    forbid_steps: tuple[Any, ...] = ()  # none may appear
    expect_status: dict[str, Any] = field(default_factory=dict)
    events: tuple[str, ...] = ()
    requests: Requests = field(default_factory=Requests)
    rollout: str | None = None  # the kind a traffic switch is counted as (metrics), when the plan switches


CASES = [
    Case(
        "new object deploys blue and waits",
        V1,
        observed(),
        FraudModelStatus(),
        "Progressing",
        "WaitingForReady",
        expect_steps=(EnsureDeployment("blue", V1, 1, 2), EnsureService("preview", "blue")),
        forbid_steps=(EnsureService("stable", "blue"),),
        expect_status={"active_colour": None},
    ),
    Case(
        "blue ready: stable selects blue, Healthy",
        V1,
        observed(ready(H1), preview="blue"),
        with_revision(FraudModelStatus(), V1, NOW)[0],
        "Healthy",
        "Healthy",
        expect_steps=(EnsureService("stable", "blue"), EnsureHPA("blue")),
        expect_status={"active_colour": "blue", "stable_revision": 1, "active_version": "1"},
        events=("SwitchService",),
        rollout="analysed",
    ),
    Case(
        "steady state keeps everything, touches nothing new",
        V1,
        observed(ready(H1), stable="blue", preview="blue"),
        steady_v1(),
        "Healthy",
        "Healthy",
        expect_steps=(EnsureService("stable", "blue"), EnsureService("preview", "blue")),
        forbid_steps=(ScaleDeployment("green", 0),),
    ),
    Case(
        "new version deploys green at preview size",
        V2,
        observed(ready(H1), stable="blue", preview="blue"),
        steady_v1(),
        "Progressing",
        "WaitingForPreview",
        expect_steps=(
            EnsureDeployment("green", V2, 2, 1),
            EnsureService("preview", "green"),
            EnsureService("stable", "blue"),
        ),
        expect_status={"preview_colour": "green", "preview_revision": 2},
    ),
    Case(
        "green ready: pre-promotion analysis announced first",
        V2,
        observed(ready(H1), ready(H2, 1), "blue", "green"),
        rolling_v2(current_step="WaitingForPreview"),
        "Progressing",
        "PrePromotionAnalysis",
        forbid_steps=(RunAnalysis("pre", "green", "blue", H2),),
        events=("PrePromotionAnalysis",),
    ),
    Case(
        "announced pre-promotion analysis runs",
        V2,
        observed(ready(H1), ready(H2, 1), "blue", "green"),
        rolling_v2(current_step="PrePromotionAnalysis"),
        "Progressing",
        "PrePromotionAnalysis",
        expect_steps=(RunAnalysis("pre", "green", "blue", H2),),
        forbid_steps=(EnsureService("stable", "green"),),
    ),
    Case(
        "analysis passed: scale green to full first",
        V2,
        observed(ready(H1), ready(H2, 1), "blue", "green"),
        rolling_v2(analysis=[run("pre", H2, "Passed")]),
        "Progressing",
        "ScalingUp",
        expect_steps=(EnsureDeployment("green", V2, 2, 2),),
        forbid_steps=(EnsureService("stable", "green"),),
    ),
    Case(
        "green full and ready: switch",
        V2,
        observed(ready(H1), ready(H2), "blue", "green"),
        rolling_v2(analysis=[run("pre", H2, "Passed")]),
        "Progressing",
        "PostPromotionAnalysis",
        expect_steps=(EnsureService("stable", "green"), EnsureHPA("green")),
        expect_status={"active_colour": "green", "previous_colour": "blue", "post_analysis_pending": True},
        events=("SwitchService",),
        rollout="analysed",
    ),
    Case(
        "analysis failed: not promoted, Degraded",
        V2,
        observed(ready(H1), ready(H2, 1), "blue", "green"),
        rolling_v2(analysis=[run("pre", H2, "Failed", "PR-AUC 0.01 < 0.70")]),
        "Degraded",
        "AnalysisFailed",
        expect_steps=(ScaleDeployment("green", 0), EnsureService("preview", "blue")),
        forbid_steps=(EnsureService("stable", "green"), EnsureService("preview", "green")),
        expect_status={"halted_hash": H2, "active_colour": "blue"},
        events=("AnalysisFailed",),
    ),
    Case(
        "halted revision stays halted",
        V2,
        observed(ready(H1), pending(H2, 0), "blue", "blue"),
        rolling_v2(halted_hash=H2, halted_reason="AnalysisFailed"),
        "Degraded",
        "AnalysisFailed",
        forbid_steps=(RunAnalysis("pre", "green", "blue", H2),),
    ),
    Case(
        "retry annotation clears the halt",
        V2,
        observed(ready(H1), ABSENT, "blue", "blue"),
        rolling_v2(halted_hash=H2, halted_reason="AnalysisFailed"),
        "Progressing",
        "WaitingForPreview",
        expect_steps=(ClearAnnotations(("ml.livefraud.io/retry",)),),
        requests=Requests(retry=True),
    ),
    Case(
        "autoPromotion false pauses after analysis",
        V2.model_copy(update={"rollout": V2.rollout.model_copy(update={"auto_promotion": False})}),
        observed(ready(H1), ready(H2, 1), "blue", "green"),
        rolling_v2(analysis=[run("pre", H2, "Passed")]),
        "Paused",
        "PausedForPromotion",
        forbid_steps=(EnsureService("stable", "green"),),
    ),
    Case(
        "promote request resumes the paused rollout",
        V2.model_copy(update={"rollout": V2.rollout.model_copy(update={"auto_promotion": False})}),
        observed(ready(H1), ready(H2), "blue", "green"),
        rolling_v2(analysis=[run("pre", H2, "Passed")]),
        "Progressing",
        "PostPromotionAnalysis",
        expect_steps=(EnsureService("stable", "green"),),
        expect_status={"promoted_hash": H2},
        requests=Requests(promote=True),
        rollout="analysed",
    ),
    Case(
        "spec.paused holds the rollout",
        V2.model_copy(update={"paused": True}),
        observed(ready(H1), stable="blue", preview="blue"),
        steady_v1(),
        "Paused",
        "Paused",
        forbid_steps=(EnsureDeployment("green", V2, 2, 1),),
    ),
    Case(
        "abort: back to stable, Degraded",
        V2,
        observed(ready(H1), ready(H2, 1), "blue", "green"),
        rolling_v2(),
        "Degraded",
        "Aborted",
        expect_steps=(ScaleDeployment("green", 0), EnsureService("preview", "blue")),
        expect_status={"halted_reason": "Aborted"},
        events=("RolloutAborted",),
        requests=Requests(abort=True),
    ),
    Case(
        "post-promotion waits for its delay",
        V2,
        observed(ready(H1), ready(H2), "green", "green"),
        switched_to_green(switched_at=iso(NOW - 5)),
        "Progressing",
        "PostPromotionAnalysis",
        forbid_steps=(RunAnalysis("post", "green", "green", H2),),
    ),
    Case(
        "post-promotion analysis runs after the delay",
        V2,
        observed(ready(H1), ready(H2), "green", "green"),
        switched_to_green(),
        "Progressing",
        "PostPromotionAnalysis",
        expect_steps=(RunAnalysis("post", "green", "green", H2),),
    ),
    Case(
        "post-promotion passed: stable, old colour warm",
        V2,
        observed(ready(H1), ready(H2), "green", "green"),
        switched_to_green(analysis=[run("post", H2, "Passed")]),
        "Healthy",
        "Healthy",
        forbid_steps=(ScaleDeployment("blue", 0),),
        expect_status={"stable_revision": 2, "post_analysis_pending": False},
        events=("RolloutCompleted",),
    ),
    Case(
        "post-promotion failed: switch back to blue",
        V2,
        observed(warm(H1), ready(H2), "green", "green"),
        switched_to_green(analysis=[run("post", H2, "Failed", "p99 0.4s > 0.25s")]),
        "Degraded",
        "RolledBack",
        expect_steps=(EnsureService("stable", "blue"), ScaleDeployment("green", 0)),
        expect_status={"active_colour": "blue", "active_hash": H1, "halted_hash": H2},
        events=("RolledBack",),
    ),
    Case(
        "inconclusive post analysis retries until timeout",
        V2,
        observed(ready(H1), ready(H2), "green", "green"),
        switched_to_green(analysis=[run("post", H2, "Inconclusive")]),
        "Progressing",
        "PostPromotionAnalysis",
        expect_steps=(RunAnalysis("post", "green", "green", H2),),
    ),
    Case(
        "old colour scaled down after the delay",
        V2,
        observed(ready(H1), ready(H2), "green", "green"),
        switched_to_green(post_analysis_pending=False, scale_down_at=iso(NOW - 1)),
        "Healthy",
        "Healthy",
        expect_steps=(ScaleDeployment("blue", 0),),
        expect_status={"previous_colour": None},
    ),
    Case(
        "rollback to the warm colour: preview selects it first",
        V1,
        observed(warm(H1), ready(H2), "green", "green"),
        switched_to_green(post_analysis_pending=False),
        "Progressing",
        "ScalingUp",
        expect_steps=(EnsureService("preview", "blue"),),
        forbid_steps=(EnsureService("stable", "blue"),),
    ),
    Case(
        "post-promotion failed without a warm colour: stay, Degraded",
        V2,
        observed(pending(H1, 0), ready(H2), "green", "green"),
        switched_to_green(analysis=[run("post", H2, "Failed", "p99")]),
        "Degraded",
        "PostPromotionAnalysis",
        forbid_steps=(EnsureService("stable", "blue"),),
    ),
    Case(
        "rollback to the warm colour switches at once",
        V1,
        observed(ready(H1), ready(H2), "green", "blue"),
        switched_to_green(post_analysis_pending=False),
        "Healthy",
        "Healthy",
        expect_steps=(EnsureService("stable", "blue"),),
        forbid_steps=(RunAnalysis("pre", "blue", "green", H1),),
        expect_status={"active_colour": "blue", "previous_colour": "green"},
        events=("SwitchService",),
        rollout="fast",
    ),
    Case(
        "rollback to a cold stable revision redeploys without analysis",
        V1,
        observed(pending(H2, 0), ready(H2), "green", "green"),
        switched_to_green(post_analysis_pending=False, previous_colour=None, previous_hash=None),
        "Progressing",
        "WaitingForPreview",
        expect_steps=(EnsureDeployment("blue", V1, 1, 1),),
    ),
]


def _contains(plan: Plan, step: Any) -> bool:
    return step in plan.steps


@pytest.mark.unit
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_decide_transition(case: Case) -> None:
    plan = decide(case.spec, case.observed, case.status, case.requests, generation=3, now=NOW)
    assert plan.status is not None
    assert (plan.status.phase, plan.status.current_step) == (case.phase, case.step), plan.status.message
    for step in case.expect_steps:
        assert _contains(plan, step), f"missing {step} in {plan.steps}"
    for step in case.forbid_steps:
        assert not _contains(plan, step), f"unexpected {step} in {plan.steps}"
    for key, value in case.expect_status.items():
        assert getattr(plan.status, key) == value, key
    reasons = [e.reason for e in plan.events]
    for reason in case.events:
        assert reason in reasons
    switches = [e.rollout for e in plan.events if e.reason == "SwitchService"]
    assert switches == ([case.rollout] if case.rollout else []), "a switch carries its kind for the metrics"
    assert plan.status.observed_generation == 3


@pytest.mark.unit
def test_rollback_annotation_patches_spec_and_writes_no_status() -> None:
    plan = decide(
        V2, observed(ready(H1), ready(H2), "green", "green"), switched_to_green(), Requests(rollback="1"), 3, NOW
    )
    assert plan.status is None
    patch = next(s for s in plan.steps if isinstance(s, PatchSpec)).patch
    assert patch["spec"]["model"]["version"] == "1"
    assert ClearAnnotations(("ml.livefraud.io/rollback",)) in plan.steps


@pytest.mark.unit
def test_rollback_to_unknown_revision_is_refused_with_a_warning() -> None:
    plan = decide(V1, observed(ready(H1)), steady_v1(), Requests(rollback="9"), 3, NOW)
    assert plan.names() == ["ClearAnnotations"]
    assert plan.events[0].type == "Warning" and "not in the history" in plan.events[0].message


@pytest.mark.unit
def test_switch_never_targets_a_colour_without_ready_endpoints() -> None:
    no_endpoints = replace(ready(H2), ready_endpoints=0)
    status = rolling_v2(analysis=[run("pre", H2, "Passed")])
    plan = decide(V2, observed(ready(H1), no_endpoints, "blue", "green"), status, Requests(), 3, NOW)
    assert EnsureService("stable", "green") not in plan.steps


@pytest.mark.unit
def test_conditions_follow_the_phase() -> None:
    plan = decide(
        V2,
        observed(ready(H1), ready(H2, 1), "blue", "green"),
        rolling_v2(analysis=[run("pre", H2, "Failed")]),
        Requests(),
        3,
        NOW,
    )
    assert plan.status is not None
    by_type = {c.type: c.status for c in plan.status.conditions}
    assert by_type == {"Available": "True", "Progressing": "False", "Degraded": "True", "Paused": "False"}


@pytest.mark.unit
def test_history_is_short_and_revisions_grow() -> None:
    status = FraudModelStatus()
    for version in range(1, 15):
        status, revision = with_revision(status, parse_spec({"model": {"version": str(version)}}), NOW)
        assert revision == version
    assert len(status.revisions) == 10 and status.revisions[-1].revision == 14
