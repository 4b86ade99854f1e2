"""The pure heart of the operator: (spec, observed children, status, requests, now) → Plan.

Blue-green as ordered, idempotent steps with Argo Rollouts semantics:

  new template → deploy the idle colour at previewReplicas → preview Service selects it → wait Ready
  → pre-promotion analysis (smoke + quality) → pause if autoPromotion is false → scale preview to full
  → switch the stable Service → post-promotion analysis (SLO) → old colour scaled down after scaleDownDelay.

Failure before the switch halts the revision (Degraded, not promoted); failure after it switches back to the
still-warm old colour (RolledBack). A revision that is already warm in the idle colour is switched to at once.
Every function here is pure; ``now`` is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from fraud_operator import conditions
from fraud_operator.builders import other, template_hash
from fraud_operator.observed import Observed
from fraud_operator.plan import (
    ClearAnnotations,
    DeleteHPA,
    EnsureDeployment,
    EnsureHPA,
    EnsureService,
    PatchSpec,
    Plan,
    RunAnalysis,
    ScaleDeployment,
)
from fraud_operator.spec import (
    ABORT_ANNOTATION,
    PROMOTE_ANNOTATION,
    RETRY_ANNOTATION,
    ROLLBACK_ANNOTATION,
    AnalysisRun,
    Colour,
    FraudModelSpec,
    FraudModelStatus,
    ModelRef,
    RevisionEntry,
)

HISTORY_LIMIT = 10


@dataclass(frozen=True)
class Requests:
    """User requests read from annotations (set by `kubectl annotate` or the kubectl plugin)."""

    rollback: str | None = None
    promote: bool = False
    abort: bool = False
    retry: bool = False


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str | None) -> float | None:
    return None if not value else datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


# --- revision history ---------------------------------------------------------------------------


def entry_for(status: FraudModelStatus, thash: str | None) -> RevisionEntry | None:
    return next((e for e in status.revisions if e.template_hash == thash), None)


def with_revision(status: FraudModelStatus, spec: FraudModelSpec, now: float) -> tuple[FraudModelStatus, int]:
    """The revision number of ``spec``'s template, adding a history entry the first time it is seen."""
    thash = template_hash(spec)
    existing = entry_for(status, thash)
    if existing is not None:
        return status, existing.revision
    revision = max((e.revision for e in status.revisions), default=0) + 1
    entry = RevisionEntry(
        revision=revision,
        template_hash=thash,
        model=spec.model.model_dump(by_alias=True, exclude_none=True),
        image=spec.image,
        threshold=spec.threshold,
        outcome="Progressing",
        at=iso(now),
    )
    return status.model_copy(update={"revisions": [*status.revisions, entry][-HISTORY_LIMIT:]}), revision


def set_outcome(status: FraudModelStatus, thash: str, outcome: str, now: float) -> FraudModelStatus:
    revisions = [
        e.model_copy(update={"outcome": outcome, "at": iso(now)}) if e.template_hash == thash else e
        for e in status.revisions
    ]
    return status.model_copy(update={"revisions": revisions})


def spec_of(spec: FraudModelSpec, entry: RevisionEntry | None) -> FraudModelSpec:
    """``spec`` with the model, image and threshold of a recorded revision (to keep an old colour as it was)."""
    if entry is None:
        return spec
    return spec.model_copy(
        update={"model": ModelRef.model_validate(entry.model), "image": entry.image, "threshold": entry.threshold}
    )


def latest_run(status: FraudModelStatus, kind: str, thash: str) -> AnalysisRun | None:
    runs = [r for r in status.analysis if r.kind == kind and r.template_hash == thash]
    return runs[-1] if runs else None


def previously_stable(status: FraudModelStatus, thash: str) -> bool:
    entry = entry_for(status, thash)
    return entry is not None and entry.outcome == "Stable"


# --- entry point --------------------------------------------------------------------------------


def decide(
    spec: FraudModelSpec, observed: Observed, status: FraudModelStatus, requests: Requests, generation: int, now: float
) -> Plan:
    if requests.rollback is not None:
        return _rollback_request(status, requests.rollback)
    status = status.model_copy(update={"observed_generation": generation})
    if requests.retry and status.halted_hash is not None:
        status = status.model_copy(update={"halted_hash": None, "halted_reason": None})
    if status.active_colour is None:
        plan = _initial(spec, observed, status, now)
    elif status.active_hash == template_hash(spec):
        plan = (
            _post(spec, observed, status, now) if status.post_analysis_pending else _steady(spec, observed, status, now)
        )
    else:
        plan = _rollout(spec, observed, status, requests, now)
    keys = tuple(
        k
        for k, on in (
            (PROMOTE_ANNOTATION, requests.promote),
            (ABORT_ANNOTATION, requests.abort),
            (RETRY_ANNOTATION, requests.retry),
        )
        if on
    )
    if keys:
        plan.add(ClearAnnotations(keys))
    return _finish(plan, observed, status, now)


def _finish(plan: Plan, observed: Observed, before: FraudModelStatus, now: float) -> Plan:
    assert plan.status is not None
    after = plan.status
    if after.preview_hash is not None and after.preview_hash in (after.halted_hash, after.active_hash):
        # The preview's rollout ended (halted, or switched to): a retry or a later rollout starts a new deadline.
        after = after.model_copy(update={"preview_since": None, "preview_hash": None})
    if after.current_step != before.current_step and after.current_step:
        plan.event(after.current_step, after.message or after.current_step)
    active_ready = after.active_colour is not None and observed.colours[after.active_colour].ready_endpoints > 0
    plan.status = after.model_copy(
        update={"conditions": conditions.compute(before.conditions, after, active_ready, iso(now))}
    )
    return plan


def _rollback_request(status: FraudModelStatus, value: str) -> Plan:
    clear = ClearAnnotations((ROLLBACK_ANNOTATION,))
    target = next((e for e in status.revisions if value.strip().isdigit() and e.revision == int(value)), None)
    if target is None:
        known = ", ".join(str(e.revision) for e in status.revisions) or "none"
        plan = Plan(status=None).add(clear)
        return plan.event("RollbackRefused", f"revision {value!r} is not in the history (known: {known})", True)
    patch = {
        "spec": {
            "model": {"name": None, "version": None, "alias": None, "uri": None, **target.model},
            "image": target.image,
            "threshold": target.threshold,
        }
    }
    plan = Plan(status=None).add(PatchSpec(patch), clear)
    return plan.event("RollbackRequested", f"spec set back to revision {target.revision} ({target.model})")


def _active_steps(
    spec: FraudModelSpec, status: FraudModelStatus, active: Colour
) -> list[EnsureDeployment | EnsureService | EnsureHPA | DeleteHPA]:
    """Keep the active colour as it was rolled out: its Deployment, the stable Service and the HPA."""
    entry = entry_for(status, status.active_hash)
    replicas = None if spec.autoscaling.enabled else spec.replicas
    steps: list[EnsureDeployment | EnsureService | EnsureHPA | DeleteHPA] = [
        EnsureDeployment(active, spec_of(spec, entry), entry.revision if entry else 0, replicas),
        EnsureService("stable", active),
    ]
    steps.append(EnsureHPA(active) if spec.autoscaling.enabled else DeleteHPA())
    return steps


def _progress(status: FraudModelStatus, step: str, message: str, phase: str = "Progressing") -> FraudModelStatus:
    return status.model_copy(update={"phase": phase, "current_step": step, "message": message})


def _initial(spec: FraudModelSpec, observed: Observed, status: FraudModelStatus, now: float) -> Plan:
    """First deployment: blue, no analysis (nothing to compare with), like Argo's first rollout."""
    status, revision = with_revision(status, spec, now)
    thash, full = template_hash(spec), spec.full_replicas()
    plan = Plan().add(EnsureDeployment("blue", spec, revision, full), EnsureService("preview", "blue"))
    if not observed.colours["blue"].ready_for(thash, min(full, 1)):
        plan.status = _progress(status, "WaitingForReady", f"waiting for blue (revision {revision}) to be ready")
        return plan
    plan.add(EnsureService("stable", "blue"), EnsureHPA("blue") if spec.autoscaling.enabled else DeleteHPA())
    status = set_outcome(status, thash, "Stable", now).model_copy(
        update={
            "active_colour": "blue",
            "active_hash": thash,
            "active_revision": revision,
            "stable_revision": revision,
            "active_version": spec.model.display(),
            "preview_colour": "blue",
            "preview_revision": revision,
            "switched_at": iso(now),
        }
    )
    plan.status = _progress(status, "Healthy", f"blue serves revision {revision}", "Healthy")
    # The first revision: no analysis to wait for, counted with the analysed switches (as it always was).
    return plan.event("SwitchService", f"stable Service selects blue (revision {revision})", rollout="analysed")


def _steady(spec: FraudModelSpec, observed: Observed, status: FraudModelStatus, now: float) -> Plan:
    active = status.active_colour
    assert active is not None
    idle = other(active)
    plan = Plan().add(*_active_steps(spec, status, active), EnsureService("preview", active))
    scale_down_at = parse_iso(status.scale_down_at)
    warm = status.previous_colour == idle and scale_down_at is not None and now < scale_down_at
    if not warm and (observed.colours[idle].spec_replicas > 0 or status.previous_colour is not None):
        plan.add(ScaleDeployment(idle, 0))
        if observed.colours[idle].spec_replicas > 0:
            plan.event("ScaleDown", f"{idle} scaled to 0 (scale-down delay over)")
        status = status.model_copy(update={"previous_colour": None, "previous_hash": None, "scale_down_at": None})
    status = status.model_copy(
        update={
            "halted_hash": None,
            "halted_reason": None,
            "preview_colour": active,
            "preview_revision": status.active_revision,
        }
    )
    if observed.colours[active].ready_endpoints < 1:
        plan.status = _progress(status, "WaitingForReady", f"{active} has no ready pods")
    else:
        plan.status = _progress(status, "Healthy", f"{active} serves revision {status.active_revision}", "Healthy")
    return plan


def _post(spec: FraudModelSpec, observed: Observed, status: FraudModelStatus, now: float) -> Plan:
    active, thash = status.active_colour, status.active_hash
    assert active is not None and thash is not None
    analysis = spec.rollout.post_promotion_analysis
    plan = Plan().add(*_active_steps(spec, status, active), EnsureService("preview", active))
    due = (parse_iso(status.switched_at) or now) + analysis.delay_seconds
    if now < due:
        plan.status = _progress(status, "PostPromotionAnalysis", f"judging SLOs of {active} in {due - now:.0f}s")
        return plan
    run = latest_run(status, "post", thash)
    timed_out = now >= due + analysis.timeout_seconds
    if run is None or (run.result == "Inconclusive" and not timed_out):
        plan.add(RunAnalysis("post", active, active, thash))
        plan.status = _progress(status, "PostPromotionAnalysis", f"checking SLOs of {active}")
        return plan
    if run.result == "Failed":
        return _switch_back(spec, observed, status, plan, run.message, now)
    revision = status.active_revision
    status = set_outcome(status, thash, "Stable", now).model_copy(
        update={
            "post_analysis_pending": False,
            "stable_revision": revision,
            "scale_down_at": iso(now + spec.rollout.scale_down_delay_seconds),
        }
    )
    plan.status = _progress(status, "Healthy", f"{active} serves revision {revision}", "Healthy")
    return plan.event("RolloutCompleted", f"revision {revision} is stable on {active}: {run.message}")


def _switch_back(
    spec: FraudModelSpec, observed: Observed, status: FraudModelStatus, plan: Plan, why: str, now: float
) -> Plan:
    """Post-promotion failure: traffic back to the warm previous colour, the failed revision halted."""
    active, previous, thash = status.active_colour, status.previous_colour, status.active_hash
    assert active is not None and thash is not None
    if previous is None or not observed.colours[previous].warm(status.previous_hash or ""):
        plan.status = _progress(
            status,
            "PostPromotionAnalysis",
            f"SLO failed ({why}) but no warm previous colour to switch back to",
            "Degraded",
        )
        return plan
    entry = entry_for(status, status.previous_hash)
    plan.steps = [
        EnsureService("stable", previous),
        EnsureService("preview", previous),
        EnsureHPA(previous) if spec.autoscaling.enabled else DeleteHPA(),
        ScaleDeployment(active, 0),
    ]
    status = set_outcome(status, thash, "Failed", now).model_copy(
        update={
            "active_colour": previous,
            "active_hash": status.previous_hash,
            "active_revision": entry.revision if entry else None,
            "active_version": ModelRef.model_validate(entry.model).display() if entry else None,
            "previous_colour": None,
            "previous_hash": None,
            "scale_down_at": None,
            "post_analysis_pending": False,
            "halted_hash": thash,
            "halted_reason": "RolledBack",
            "switched_at": iso(now),
            "preview_colour": previous,
        }
    )
    plan.status = _progress(
        status, "RolledBack", f"post-promotion analysis failed: {why}; back on {previous}", "Degraded"
    )
    return plan.event("RolledBack", f"SLO failed on {active} ({why}); stable Service selects {previous} again", True)


def _rollout(
    spec: FraudModelSpec, observed: Observed, status: FraudModelStatus, requests: Requests, now: float
) -> Plan:
    active = status.active_colour
    assert active is not None
    idle, thash = other(active), template_hash(spec)
    status, revision = with_revision(status, spec, now)
    status = status.model_copy(update={"preview_colour": idle, "preview_revision": revision})
    plan = Plan().add(*_active_steps(spec, status, active))
    if requests.abort and status.halted_hash != thash:
        status = set_outcome(status, thash, "Aborted", now).model_copy(
            update={"halted_hash": thash, "halted_reason": "Aborted"}
        )
        plan.event("RolloutAborted", f"revision {revision} aborted; {active} keeps serving", True)
    if status.halted_hash == thash:
        plan.add(EnsureService("preview", active), ScaleDeployment(idle, 0))
        status = status.model_copy(update={"preview_colour": active, "preview_revision": status.active_revision})
        plan.status = _progress(
            status,
            status.halted_reason or "Halted",
            f"revision {revision} not promoted ({status.halted_reason}); change the spec, "
            f"roll back, or annotate {RETRY_ANNOTATION}=true",
            "Degraded",
        )
        return plan
    if spec.paused:
        plan.status = _progress(status, "Paused", "spec.paused is true", "Paused")
        return plan
    if status.previous_colour == idle and status.previous_hash == thash and observed.colours[idle].warm(thash):
        return _switch(spec, observed, status, plan, revision, now, fast=True)
    return _preview(spec, observed, status, requests, plan, revision, now)


def _preview(
    spec: FraudModelSpec,
    observed: Observed,
    status: FraudModelStatus,
    requests: Requests,
    plan: Plan,
    revision: int,
    now: float,
) -> Plan:
    active = status.active_colour
    assert active is not None
    idle, thash, rollout = other(active), template_hash(spec), spec.rollout
    plan.add(EnsureDeployment(idle, spec, revision, rollout.preview_replicas), EnsureService("preview", idle))
    if status.preview_hash != thash or status.preview_since is None:
        status = status.model_copy(update={"preview_since": iso(now), "preview_hash": thash})
    since = parse_iso(status.preview_since) or now
    overdue = now >= since + rollout.progress_deadline_seconds
    # Verdicts older than this preview (a retried revision's) do not count.
    run = latest_run(status, "pre", thash)
    if run is not None and run.at and status.preview_since is not None and run.at < status.preview_since:
        run = None
    late = f"; not ready after progressDeadlineSeconds={rollout.progress_deadline_seconds}, asking {idle} why"
    state = observed.colours[idle]
    failed = run is not None and run.result == "Failed" and not previously_stable(status, thash)
    if not failed and (observed.preview_selects != idle or not state.ready_for(thash, rollout.preview_replicas)):
        message = f"waiting for {idle} (revision {revision}) to be ready"
        if overdue:
            plan.add(RunAnalysis("ready", idle, active, thash))
        plan.status = _progress(status, "WaitingForPreview", message + (late if overdue else ""))
        return plan
    pre = rollout.pre_promotion_analysis
    gated = pre.smoke.enabled or pre.quality.enabled or pre.shadow.enabled
    if gated and not previously_stable(status, thash) and run is None:
        if status.current_step == "PrePromotionAnalysis":  # announced by the previous reconcile: run it now
            plan.add(RunAnalysis("pre", idle, active, thash))
            if overdue:  # e.g. kwok: pods Ready, but the service answers 503 because its model never loaded
                plan.add(RunAnalysis("ready", idle, active, thash))
        plan.status = _progress(status, "PrePromotionAnalysis", f"smoke and quality checks of {idle}")
        return plan
    if failed and run is not None:
        plan.steps = [
            s for s in plan.steps if not isinstance(s, EnsureService | EnsureDeployment) or s.colour == active
        ]
        plan.add(EnsureService("preview", active), ScaleDeployment(idle, 0))
        status = set_outcome(status, thash, "Failed", now).model_copy(
            update={
                "halted_hash": thash,
                "halted_reason": "AnalysisFailed",
                "preview_colour": active,
                "preview_revision": status.active_revision,
            }
        )
        plan.status = _progress(
            status, "AnalysisFailed", f"revision {revision} not promoted: {run.message}", "Degraded"
        )
        return plan.event("AnalysisFailed", f"revision {revision} on {idle}: {run.message}", True)
    if not rollout.auto_promotion and status.promoted_hash != thash:
        if not requests.promote:
            plan.status = _progress(
                status,
                "PausedForPromotion",
                f"revision {revision} passed analysis; run `kubectl fraudmodel promote`",
                "Paused",
            )
            return plan
        status = status.model_copy(update={"promoted_hash": thash})
        plan.event("Promoted", f"revision {revision} promoted by request")
    return _switch(spec, observed, status, plan, revision, now, fast=False)


def _switch(
    spec: FraudModelSpec,
    observed: Observed,
    status: FraudModelStatus,
    plan: Plan,
    revision: int,
    now: float,
    fast: bool,
) -> Plan:
    """Scale the new colour to full, then move the stable Service (never onto a colour without ready pods)."""
    active, thash = status.active_colour, template_hash(spec)
    assert active is not None
    idle = other(active)
    full = max(spec.full_replicas(), observed.colours[active].spec_replicas)
    plan.steps = [s for s in plan.steps if not (isinstance(s, EnsureDeployment) and s.colour == idle)]
    plan.add(EnsureDeployment(idle, spec, revision, full), EnsureService("preview", idle))
    if not observed.colours[idle].ready_for(thash, full):
        plan.status = _progress(status, "ScalingUp", f"scaling {idle} to {full} ready pods before the switch")
        return plan
    post = spec.rollout.post_promotion_analysis.enabled and not fast and not previously_stable(status, thash)
    plan.steps = [s for s in plan.steps if not isinstance(s, EnsureService | EnsureHPA | DeleteHPA)]
    plan.add(
        EnsureService("stable", idle),
        EnsureService("preview", idle),
        EnsureHPA(idle) if spec.autoscaling.enabled else DeleteHPA(),
    )
    status = status.model_copy(
        update={
            "active_colour": idle,
            "active_hash": thash,
            "active_revision": revision,
            "active_version": spec.model.display(),
            "previous_colour": active,
            "previous_hash": status.active_hash,
            "switched_at": iso(now),
            "post_analysis_pending": post,
            "preview_colour": idle,
            "preview_revision": revision,
            "scale_down_at": iso(now + spec.rollout.scale_down_delay_seconds),
        }
    )
    outgoing = entry_for(status, status.previous_hash)
    if outgoing is not None and outgoing.outcome == "Progressing":  # left mid-rollout (e.g. rolled back)
        status = set_outcome(status, outgoing.template_hash, "Aborted", now)
    how = "fast rollback to the warm colour" if fast else "analysis passed"
    plan.event(
        "SwitchService",
        f"stable Service selects {idle} (revision {revision}, {how})",
        rollout="fast" if fast else "analysed",
    )
    if post:
        plan.status = _progress(status, "PostPromotionAnalysis", f"{idle} active; SLO checks pending")
        return plan
    status = set_outcome(status, thash, "Stable", now).model_copy(update={"stable_revision": revision})
    plan.status = _progress(status, "Healthy", f"{idle} serves revision {revision}", "Healthy")
    return plan
