"""progressDeadlineSeconds: a preview that never becomes ready fails its revision with the service's reason.

A pure ``decide`` table (deadline passed or not, preview ready or not, verdict or not) and the readiness
answer parsed as the scoring service gives it (its structured ``reason``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from fraud_operator.analysis.readiness import not_ready_reason
from fraud_operator.decide import Requests, decide, iso
from fraud_operator.plan import EnsureService, RunAnalysis, ScaleDeployment
from fraud_operator.spec import AnalysisRun, FraudModelStatus
from tests.operator.test_decide import H1, H2, NOW, V2, observed, pending, ready, rolling_v2

DEADLINE = V2.rollout.progress_deadline_seconds
READY_RUN = RunAnalysis("ready", "green", "blue", H2)
PRE_RUN = RunAnalysis("pre", "green", "blue", H2)
REASON = "failed: MlflowException: no bundle at models:/fm-missing/1 (attempt 4; next in 8s)"


def waited(seconds: float, **extra: Any) -> FraudModelStatus:
    """Revision 2 previewed on green since ``seconds`` ago."""
    fields: dict[str, Any] = {"preview_since": iso(NOW - seconds), "preview_hash": H2}
    return rolling_v2(**{"current_step": "WaitingForPreview", **fields, **extra})


def failed_run(at: float, message: str = REASON) -> AnalysisRun:
    return AnalysisRun(kind="pre", template_hash=H2, result="Failed", message=message, at=iso(at))


@dataclass(frozen=True)
class Case:
    name: str
    status: FraudModelStatus
    preview_ready: bool
    step: str
    phase: str
    expect: tuple[Any, ...] = ()
    forbid: tuple[Any, ...] = ()
    preview_since: str | None = None
    events: tuple[str, ...] = ()


CASES = [
    Case(
        "first wait starts the clock",
        rolling_v2(),
        False,
        "WaitingForPreview",
        "Progressing",
        forbid=(READY_RUN,),
        preview_since=iso(NOW),
    ),
    Case(
        "not ready, deadline not passed: keep waiting",
        waited(DEADLINE - 1),
        False,
        "WaitingForPreview",
        "Progressing",
        forbid=(READY_RUN,),
        preview_since=iso(NOW - DEADLINE + 1),
    ),
    Case(
        "not ready, deadline passed: ask the preview why",
        waited(DEADLINE),
        False,
        "WaitingForPreview",
        "Progressing",
        expect=(READY_RUN,),
        forbid=(EnsureService("stable", "green"),),
        preview_since=iso(NOW - DEADLINE),
    ),
    Case(
        "not ready, deadline passed, reason recorded: failed, the active colour keeps serving",
        waited(DEADLINE + 5, analysis=[failed_run(NOW - 2)]),
        False,
        "AnalysisFailed",
        "Degraded",
        expect=(ScaleDeployment("green", 0), EnsureService("preview", "blue"), EnsureService("stable", "blue")),
        forbid=(EnsureService("stable", "green"), READY_RUN),
        events=("AnalysisFailed",),
    ),
    Case(
        "ready by its pods but no verdict yet, deadline passed: analysis and readiness both asked",
        waited(DEADLINE + 1, current_step="PrePromotionAnalysis"),
        True,
        "PrePromotionAnalysis",
        "Progressing",
        expect=(PRE_RUN, READY_RUN),
        preview_since=iso(NOW - DEADLINE - 1),
    ),
    Case(
        "ready and analysing, deadline not passed: analysis only",
        waited(5, current_step="PrePromotionAnalysis"),
        True,
        "PrePromotionAnalysis",
        "Progressing",
        expect=(PRE_RUN,),
        forbid=(READY_RUN,),
        preview_since=iso(NOW - 5),
    ),
    Case(
        "a verdict older than this preview (a retried revision) does not count",
        waited(30, analysis=[failed_run(NOW - 100)]),
        False,
        "WaitingForPreview",
        "Progressing",
        forbid=(ScaleDeployment("green", 0), READY_RUN),
        preview_since=iso(NOW - 30),
    ),
]


@pytest.mark.unit
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_preview_deadline(case: Case) -> None:
    green = ready(H2, 1) if case.preview_ready else pending(H2)
    plan = decide(V2, observed(ready(H1), green, "blue", "green"), case.status, Requests(), 3, NOW)
    assert plan.status is not None
    assert (plan.status.phase, plan.status.current_step) == (case.phase, case.step), plan.status.message
    for step in case.expect:
        assert step in plan.steps, f"missing {step} in {plan.steps}"
    for step in case.forbid:
        assert step not in plan.steps, f"unexpected {step} in {plan.steps}"
    assert plan.status.active_colour == "blue"
    assert plan.status.preview_since == case.preview_since
    reasons = [e.reason for e in plan.events]
    assert all(r in reasons for r in case.events), reasons
    if case.step == "AnalysisFailed":
        assert REASON in plan.status.message and plan.status.halted_hash == H2
        assert plan.status.preview_hash is None  # a retry starts a fresh deadline
    if READY_RUN in case.expect:
        assert "progressDeadlineSeconds" in plan.status.message or case.step == "PrePromotionAnalysis"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("code", "body", "text", "want"),
    [
        (200, {"ready": True}, "", None),
        (503, {"ready": False, "reason": REASON}, "", REASON),
        (503, None, "<html>bad gateway</html>", "HTTP 503: <html>bad gateway</html>"),
        (503, {"ready": False}, '{"ready": false}', 'HTTP 503: {"ready": false}'),
    ],
)
def test_not_ready_reason_prefers_the_structured_field(code: int, body: Any, text: str, want: str | None) -> None:
    assert not_ready_reason(code, body, text) == want


@pytest.mark.unit
def test_a_passed_preview_is_not_analysed_again_while_it_scales_up_or_switches() -> None:
    """The deadline's clock survives the steps after the verdict, so the verdict keeps counting."""
    passed = AnalysisRun(kind="pre", template_hash=H2, result="Passed", message="ok", at=iso(NOW - 10))
    status = waited(60, analysis=[passed], current_step="PrePromotionAnalysis")
    scaling = decide(V2, observed(ready(H1), ready(H2, 1), "blue", "green"), status, Requests(), 3, NOW)
    assert scaling.status is not None and scaling.status.current_step == "ScalingUp"
    assert scaling.status.preview_since == iso(NOW - 60)
    again = decide(V2, observed(ready(H1), ready(H2, 1), "blue", "green"), scaling.status, Requests(), 3, NOW + 5)
    assert again.status is not None and again.status.current_step == "ScalingUp"
    assert PRE_RUN not in again.steps
    switched = decide(V2, observed(ready(H1), ready(H2, 2), "blue", "green"), again.status, Requests(), 3, NOW + 9)
    assert switched.status is not None and switched.status.active_colour == "green"
    assert switched.status.preview_since is None  # the rollout's deadline ended with the switch
