"""Carry out a Plan (the one module that does): its child steps, each idempotent (create-or-patch, 404/409
tolerated, children adopted by the owner), then, after the status write, its edits of the FraudModel."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import kopf

from fraud_operator import builders
from fraud_operator import plan as steps
from fraud_operator.analysis import CannotRun, Unreachable, Verdict
from fraud_operator.config import OperatorConfig
from fraud_operator.kube import Kube
from fraud_operator.plan import Plan, RunAnalysis
from fraud_operator.spec import AnalysisRun, FraudModelSpec

log = logging.getLogger(__name__)

#: Runs an analysis: (namespace, name, spec, step) -> verdict; raises Unreachable when it cannot judge yet.
AnalysisRunner = Callable[[str, str, FraudModelSpec, RunAnalysis], Verdict]


@dataclass
class Outcome:
    """What acting produced that the status must record."""

    analyses: list[AnalysisRun]


def _adopted(obj: dict[str, Any], owner: Mapping[str, Any]) -> dict[str, Any]:
    kopf.adopt(obj, owner=owner)  # type: ignore[arg-type]
    return obj


def act(
    kube: Kube,
    owner: Mapping[str, Any],
    spec: FraudModelSpec,
    plan: Plan,
    config: OperatorConfig,
    run_analysis: AnalysisRunner,
    now_iso: str,
) -> Outcome:
    namespace, name = owner["metadata"]["namespace"], owner["metadata"]["name"]
    ctx = builders.BuildContext(
        mlflow_tracking_uri=config.mlflow_tracking_uri or None,
        service_account=config.scoring_service_account or None,
    )
    outcome = Outcome(analyses=[])
    for step in plan.steps:
        if isinstance(step, steps.EnsureDeployment):
            replicas = step.replicas
            dep = builders.build_deployment(name, step.colour, step.spec, step.revision, replicas, ctx)
            if replicas is None:  # the HPA owns the count; a new Deployment still needs one
                created = dict(dep, spec={**dep["spec"], "replicas": step.spec.full_replicas()})
                kube.create_or_patch(namespace, _adopted(created, owner), _adopted(dep, owner))
            else:
                kube.create_or_patch(namespace, _adopted(dep, owner))
        elif isinstance(step, steps.ScaleDeployment):
            kube.patch(
                namespace,
                "Deployment",
                builders.deployment_name(name, step.colour),
                builders.build_scale(step.replicas),
            )
        elif isinstance(step, steps.EnsureService):
            build = builders.build_stable_service if step.role == "stable" else builders.build_preview_service
            kube.create_or_patch(namespace, _adopted(build(name, step.colour, spec), owner))
        elif isinstance(step, steps.EnsureHPA):
            kube.create_or_patch(namespace, _adopted(builders.build_hpa(name, step.colour, spec), owner))
        elif isinstance(step, steps.DeleteHPA):
            kube.delete_hpa(namespace, name)
        elif isinstance(step, RunAnalysis):
            verdict = _analyse(namespace, name, spec, step, run_analysis)
            if verdict is not None:
                outcome.analyses.append(
                    AnalysisRun(
                        kind="post" if step.kind == "post" else "pre",  # a readiness verdict fails the preview
                        template_hash=step.template_hash,
                        result=verdict.result,
                        message=verdict.message,
                        at=now_iso,
                    )
                )
        # PatchSpec and ClearAnnotations change the FraudModel's resourceVersion: apply_requests, after the status write.
    return outcome


def apply_requests(kube: Kube, namespace: str, name: str, plan: Plan) -> None:
    """The Plan's edits of the FraudModel itself, after the status write (they change its resourceVersion):
    the spec patch of a rollback, request annotations cleared."""
    for step in plan.steps:
        if isinstance(step, steps.PatchSpec):
            kube.patch_fraudmodel(namespace, name, step.patch)
        elif isinstance(step, steps.ClearAnnotations):
            kube.patch_fraudmodel(namespace, name, {"metadata": {"annotations": dict.fromkeys(step.keys)}})


def _analyse(
    namespace: str, name: str, spec: FraudModelSpec, step: RunAnalysis, run_analysis: AnalysisRunner
) -> Verdict | None:
    try:
        return run_analysis(namespace, name, spec, step)
    except Unreachable as e:
        log.warning("analysis %s of %s/%s not run yet: %s", step.kind, namespace, name, e)
        return None
    except CannotRun as e:
        # A verdict, not an exception: raising here would fail every reconcile with no reason in status.
        log.error("analysis %s of %s/%s cannot run: %s", step.kind, namespace, name, e)
        return Verdict("Failed", f"analysis cannot run: {e}")
