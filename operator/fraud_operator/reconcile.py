"""One reconcile of one FraudModel: read fresh, decide (pure), act (idempotent), record (one status write)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import kopf
from kubernetes.client.exceptions import ApiException
from pydantic import ValidationError

from fraud_operator import metrics
from fraud_operator.act import AnalysisRunner, act, apply_requests
from fraud_operator.config import OperatorConfig
from fraud_operator.decide import Requests, decide, iso
from fraud_operator.kube import Kube, fraudmodel_ref
from fraud_operator.observed import parse_observed
from fraud_operator.plan import Plan
from fraud_operator.spec import (
    ABORT_ANNOTATION,
    PROMOTE_ANNOTATION,
    RETRY_ANNOTATION,
    ROLLBACK_ANNOTATION,
    AnalysisRun,
    FraudModelStatus,
    name_problem,
    parse_spec,
    parse_status,
)

log = logging.getLogger("fraud_operator")
ANALYSIS_HISTORY = 6
_TRUE = ("true", "yes", "1", "")


def requests_from(annotations: Mapping[str, str]) -> Requests:
    """Pure: the user requests carried by annotations."""
    return Requests(
        rollback=annotations.get(ROLLBACK_ANNOTATION),
        promote=annotations.get(PROMOTE_ANNOTATION, "false").lower() in _TRUE,
        abort=annotations.get(ABORT_ANNOTATION, "false").lower() in _TRUE,
        retry=annotations.get(RETRY_ANNOTATION, "false").lower() in _TRUE,
    )


def with_analyses(status: FraudModelStatus, runs: list[AnalysisRun]) -> FraudModelStatus:
    """Pure: newest verdict per (kind, revision), the last few kept."""
    kept = [r for r in status.analysis if not any((r.kind, r.template_hash) == (n.kind, n.template_hash) for n in runs)]
    return status.model_copy(update={"analysis": [*kept, *runs][-ANALYSIS_HISTORY:]})


def reconcile_once(
    kube: Kube,
    config: OperatorConfig,
    run_analysis: AnalysisRunner,
    namespace: str,
    name: str,
    clock: Callable[[], float] = time.time,
) -> Plan | None:
    started = time.perf_counter()
    try:
        plan = _reconcile(kube, config, run_analysis, namespace, name, clock())
    except kopf.TemporaryError:
        metrics.RECONCILES.labels(result="retry").inc()
        raise
    except Exception:
        metrics.RECONCILES.labels(result="error").inc()
        raise
    finally:
        metrics.RECONCILE_SECONDS.observe(time.perf_counter() - started)
    metrics.RECONCILES.labels(result="ok").inc()
    return plan


def _reconcile(
    kube: Kube, config: OperatorConfig, run_analysis: AnalysisRunner, namespace: str, name: str, now: float
) -> Plan | None:
    body = kube.fraudmodel(namespace, name)
    if body is None or body["metadata"].get("deletionTimestamp"):
        return None
    try:
        spec = parse_spec(body["spec"])
    except ValidationError as e:  # only if the CRD is older than the operator: the API server checks the same
        raise kopf.PermanentError(f"spec of {namespace}/{name} is invalid, fix it: {e}") from e
    if problem := name_problem(name):  # likewise: the CRD's root rule refuses such a name
        raise kopf.PermanentError(f"{namespace}/{name} cannot be rolled out, recreate it: {problem}")
    status = parse_status(body.get("status"))
    observed = parse_observed(name, *kube.children(namespace, name))
    meta = body["metadata"]
    plan = decide(spec, observed, status, requests_from(meta.get("annotations") or {}), meta.get("generation", 0), now)
    outcome = act(kube, body, spec, plan, config, run_analysis, iso(now))
    if plan.status is not None:
        _record(kube, namespace, name, meta["resourceVersion"], with_analyses(plan.status, outcome.analyses))
    apply_requests(kube, namespace, name, plan)
    _announce(kube, body, plan, outcome.analyses, status)
    return plan


def _record(kube: Kube, namespace: str, name: str, resource_version: str, status: FraudModelStatus) -> None:
    """The one status write; None values become nulls so a merge patch removes cleared fields."""
    try:
        kube.patch_status(namespace, name, resource_version, status.model_dump(by_alias=True, mode="json"))
    except ApiException as e:
        if e.status == 409:
            raise kopf.TemporaryError("FraudModel changed while reconciling; retrying", delay=1) from e
        raise


def _announce(
    kube: Kube, body: Mapping[str, Any], plan: Plan, runs: list[AnalysisRun], before: FraudModelStatus
) -> None:
    """Kubernetes Events, metrics and one structured log line per step change."""
    meta = body["metadata"]
    ref = fraudmodel_ref(meta["namespace"], meta["name"], meta.get("uid"))
    for run in runs:
        metrics.ANALYSES.labels(kind=run.kind, result=run.result).inc()
        if run.result != "Inconclusive":
            kind = "Normal" if run.result == "Passed" else "Warning"
            kube.post_event(ref, kind, f"Analysis{run.result}", f"{run.kind}-promotion: {run.message}")
    for event in plan.events:
        kube.post_event(ref, event.type, event.reason, event.message)
        if event.rollout is not None:
            metrics.ROLLOUTS.labels(kind=event.rollout).inc()
        if event.reason in metrics.ROLLBACK_REASONS:
            metrics.ROLLBACKS.labels(reason=event.reason).inc()
    if plan.status is not None and plan.status.phase is not None:
        where = (body["metadata"]["namespace"], body["metadata"]["name"])
        for phase in metrics.PHASES:
            metrics.PHASE.labels(*where, phase).set(int(phase == plan.status.phase))
    if plan.status is not None and (plan.status.current_step != before.current_step or plan.events):
        log.info(
            "step",
            extra={
                "fraudmodel": body["metadata"]["name"],
                "namespace": body["metadata"]["namespace"],
                "phase": plan.status.phase,
                "step": plan.status.current_step,
                "active": plan.status.active_colour,
                "detail": plan.status.message,
            },
        )
