"""The FraudModel API as pydantic models: the body is parsed once, here, into typed objects.

The CRD's OpenAPI schema (``crd.py`` → ``charts/live-fraud-detector/crds/fraudmodel.yaml``) is generated
from these models, so ``kubectl explain fraudmodel.spec`` shows the same descriptions and defaults the
operator uses. Cross-field rules live twice on purpose: as CEL ``x-kubernetes-validations`` (the API
server refuses a bad object before it is stored) and as pydantic validators (the operator never acts on
an object that slipped past an older CRD).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from lfd.constants import MODEL_NAME

GROUP = "ml.livefraud.io"
VERSION = "v1alpha1"
KIND = "FraudModel"
PLURAL = "fraudmodels"
SINGULAR = "fraudmodel"
SHORT_NAMES = ("fm",)

#: Annotations a user (or the kubectl plugin) sets to ask for an action; the operator removes them once handled.
ROLLBACK_ANNOTATION = f"{GROUP}/rollback"
PROMOTE_ANNOTATION = f"{GROUP}/promote"
ABORT_ANNOTATION = f"{GROUP}/abort"
RETRY_ANNOTATION = f"{GROUP}/retry"

DEFAULT_IMAGE = "ghcr.io/live-fraud-detector/scoring:0.1.0"

#: The operator names its children after the FraudModel: the stable Service and the HPA ``<name>``, the
#: Deployments ``<name>-blue``/``-green``, the preview Service ``<name>-preview``. A Service name is a
#: DNS-1035 label (a-z first, a-z0-9- inside, at most 63), stricter than the DNS subdomain the API server
#: allows a custom resource's name: a name of 56+ characters or with a dot or a leading digit was stored
#: but its preview Service could never be created (found by fuzzing FraudModels, issue 14).
CHILD_NAME_SUFFIXES = ("-blue", "-green", "-preview")
NAME_MAX_LENGTH = 63 - max(len(suffix) for suffix in CHILD_NAME_SUFFIXES)  # 55
NAME_PATTERN = "^[a-z]([-a-z0-9]*[a-z0-9])?$"
NAME_RULE = f"a DNS-1035 label (lower-case letter first, then a-z, 0-9 or '-', ending alphanumeric) of at most \
{NAME_MAX_LENGTH} characters: the operator names its Services <name> and <name>-preview"


def name_problem(name: str) -> str | None:
    """What is wrong with a FraudModel's name (None: nothing). The CRD's root CEL rule says the same."""
    if len(name) > NAME_MAX_LENGTH or not re.fullmatch(NAME_PATTERN, name):
        return f"metadata.name: must be {NAME_RULE}, got {name[:80]!r}"
    return None


Colour = Literal["blue", "green"]
Phase = Literal["Progressing", "Healthy", "Paused", "Degraded"]


class _Api(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields are an error (the CRD prunes them anyway)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class ModelRef(_Api):
    name: str = Field(
        MODEL_NAME,
        min_length=1,
        max_length=200,
        description="Registered model name in the MLflow registry.",
    )
    version: str | None = Field(
        None,
        min_length=1,
        max_length=20,
        pattern=r"^[0-9]+$",
        description="Registered model version to serve (a number). Exactly one of version, alias or uri.",
    )
    alias: str | None = Field(
        None,
        min_length=1,
        max_length=63,
        pattern=r"^[a-z][a-z0-9_-]*$",
        description="Registry alias to serve, e.g. champion. Resolved by the pods at start-up, so prefer a version "
        "for reproducible rollouts. Exactly one of version, alias or uri.",
    )
    uri: str | None = Field(
        None,
        min_length=1,
        max_length=1000,
        description="Full model URI passed to `lfd serve --model-uri` (models:/..., runs:/..., s3://..., or a path). "
        "Exactly one of version, alias or uri.",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> ModelRef:
        if sum(v is not None for v in (self.version, self.alias, self.uri)) != 1:
            raise ValueError("spec.model: set exactly one of version, alias or uri")
        return self

    def resolved_uri(self) -> str:
        if self.uri is not None:
            return self.uri
        if self.version is not None:
            return f"models:/{self.name}/{self.version}"
        return f"models:/{self.name}@{self.alias}"

    def display(self) -> str:
        """Short label for printer columns: the version, the alias or the URI."""
        return self.version or (f"@{self.alias}" if self.alias else self.uri or "")


class Autoscaling(_Api):
    enabled: bool = Field(True, description="Create a HorizontalPodAutoscaler for the active colour.")
    min_replicas: int = Field(2, ge=1, le=1000, description="Fewest active pods the autoscaler keeps.")
    max_replicas: int = Field(20, ge=1, le=1000, description="Most active pods the autoscaler may run.")
    target_cpu_utilization_percentage: int = Field(
        70,
        ge=1,
        alias="targetCPUUtilizationPercentage",
        le=100,
        description="Average CPU use (percent of requests) the autoscaler aims for.",
    )

    @model_validator(mode="after")
    def _min_le_max(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError("spec.autoscaling: minReplicas must be <= maxReplicas")
        return self


class ResourceAmounts(_Api):
    cpu: str | None = Field(None, max_length=20, description="CPU quantity, e.g. 500m.")
    memory: str | None = Field(None, max_length=20, description="Memory quantity, e.g. 1Gi.")


class Resources(_Api):
    requests: ResourceAmounts = Field(
        default_factory=lambda: ResourceAmounts.model_validate({"cpu": "500m", "memory": "1Gi"}),
        description="Resources each scoring pod is guaranteed (the autoscaler's CPU target is relative to this).",
    )
    limits: ResourceAmounts = Field(
        default_factory=lambda: ResourceAmounts.model_validate({"memory": "2Gi"}),
        description="Hard ceiling for each scoring pod.",
    )


class SmokeAnalysis(_Api):
    enabled: bool = Field(True, description="Send canned transactions through the preview Service before the switch.")
    max_latency_ms: int = Field(
        1000, ge=1, le=60000, description="Each smoke request must answer within this many milliseconds."
    )


class QualityAnalysis(_Api):
    enabled: bool = Field(True, description="Replay labelled transactions through preview and stable and compare.")
    tolerance: float = Field(
        0.05,
        ge=0,
        le=1,
        description="The new model's weighted PR-AUC may be at most this far below the champion's.",
    )
    min_alert_rate: float = Field(
        0.0, ge=0, le=1, description="Lowest acceptable share of replayed rows flagged fraud."
    )
    max_alert_rate: float = Field(
        0.2, ge=0, le=1, description="Highest acceptable share of replayed rows flagged fraud."
    )
    sample_size: int = Field(
        3000, ge=100, le=100000, description="Legitimate rows replayed (every labelled fraud row is replayed too)."
    )

    @model_validator(mode="after")
    def _rate_bounds(self) -> QualityAnalysis:
        if self.min_alert_rate > self.max_alert_rate:
            raise ValueError("spec.rollout.prePromotionAnalysis.quality: minAlertRate must be <= maxAlertRate")
        return self


class ShadowAnalysis(_Api):
    enabled: bool = Field(
        False,
        description="Judge the new model against the champion on live traffic: the streaming job shadow-scores "
        "through the preview Service, `lfd monitor` exports agreement and alert-rate ratio per version pair, this "
        "gate reads them from Prometheus. Until minTransactions pairs exist the rollout waits.",
    )
    min_transactions: int = Field(
        1000, ge=1, le=100000000, description="Transactions both models must have scored before a verdict."
    )
    max_alert_rate_ratio: float = Field(
        2.0, gt=0, le=1000, description="Highest acceptable ratio of the new model's alert rate to the champion's."
    )
    min_agreement: float = Field(
        0.99, ge=0, le=1, description="Lowest acceptable share of transactions both models decide the same way."
    )


class PrePromotionAnalysis(_Api):
    smoke: SmokeAnalysis = Field(
        default_factory=lambda: SmokeAnalysis.model_validate({}), description="Smoke test of the preview Service."
    )
    quality: QualityAnalysis = Field(
        default_factory=lambda: QualityAnalysis.model_validate({}),
        description="Model-quality gate on a labelled replay set.",
    )
    shadow: ShadowAnalysis = Field(
        default_factory=lambda: ShadowAnalysis.model_validate({}),
        description="Optional champion-vs-challenger gate on live shadow traffic (off by default).",
    )


class PostPromotionAnalysis(_Api):
    enabled: bool = Field(True, description="Check the active colour's SLOs in Prometheus after the switch.")
    delay_seconds: int = Field(
        15, ge=0, le=3600, description="Traffic the new colour must serve before its SLOs are judged."
    )
    window_seconds: int = Field(30, ge=5, le=3600, description="Prometheus range window of the SLO queries.")
    max_error_rate: float = Field(0.01, ge=0, le=1, description="Highest acceptable share of 5xx responses.")
    max_p99_latency_seconds: float = Field(0.25, gt=0, le=60, description="Highest acceptable p99 request latency.")
    min_requests: int = Field(
        10,
        ge=0,
        le=1000000,
        description="Requests needed in the window for a verdict; with fewer the check waits up to timeoutSeconds, "
        "then passes as inconclusive.",
    )
    timeout_seconds: int = Field(120, ge=1, le=86400, description="How long to wait for enough traffic.")


class Rollout(_Api):
    strategy: Literal["BlueGreen"] = Field("BlueGreen", description="Rollout strategy. Only BlueGreen exists.")
    auto_promotion: bool = Field(
        True,
        description="Switch traffic once pre-promotion analysis passes; false pauses for `kubectl fraudmodel promote`.",
    )
    preview_replicas: int = Field(
        1, ge=1, le=1000, description="Pods of the new colour while it is previewed (scaled to full before the switch)."
    )
    scale_down_delay_seconds: int = Field(
        30,
        ge=0,
        le=86400,
        description="How long the old colour stays warm after a successful rollout (instant rollback window).",
    )
    progress_deadline_seconds: int = Field(
        600,
        ge=10,
        le=86400,
        description="How long the preview colour may take, from being deployed, to become ready and answer the "
        "pre-promotion checks. Past it the revision fails (Degraded, AnalysisFailed; the active colour keeps "
        "serving) with the scoring service's own reason from its readiness endpoint (e.g. a registry model whose "
        "bundle is missing or whose signature is wrong never loads).",
    )
    pre_promotion_analysis: PrePromotionAnalysis = Field(
        default_factory=lambda: PrePromotionAnalysis.model_validate({}),
        description="Checks of the preview colour before traffic moves.",
    )
    post_promotion_analysis: PostPromotionAnalysis = Field(
        default_factory=lambda: PostPromotionAnalysis.model_validate({}),
        description="SLO checks of the active colour after traffic moved.",
    )


class Toleration(_Api):
    """A Kubernetes toleration of the scoring pods (as in a pod spec)."""

    key: str | None = Field(None, min_length=1, max_length=316, description="Taint key tolerated (empty: all keys).")
    operator: Literal["Exists", "Equal"] = Field("Equal", description="Exists (any value) or Equal (the value).")
    value: str | None = Field(None, max_length=63, description="Taint value tolerated (operator Equal only).")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        None, description="Taint effect tolerated (empty: all effects)."
    )
    toleration_seconds: int | None = Field(
        None, ge=0, le=86400 * 365, description="How long a NoExecute taint is tolerated before eviction."
    )

    @model_validator(mode="after")
    def _exists_has_no_value(self) -> Toleration:
        if self.operator == "Exists" and self.value:
            raise ValueError("spec.scheduling.tolerations: operator Exists takes no value")
        return self


class Scheduling(_Api):
    """Where the scoring pods may run: copied into both colours' pod templates."""

    node_selector: dict[str, str] = Field(
        default_factory=dict, max_length=20, description="Node labels a scoring pod's node must carry."
    )
    tolerations: list[Toleration] = Field(
        default_factory=list, max_length=20, description="Taints the scoring pods tolerate."
    )


class FraudModelSpec(_Api):
    model: ModelRef = Field(description="Which registered model to serve.")
    image: str = Field(DEFAULT_IMAGE, min_length=1, max_length=500, description="Scoring service image (BentoML).")
    replicas: int = Field(2, ge=0, le=1000, description="Active pods when autoscaling is disabled.")
    autoscaling: Autoscaling = Field(
        default_factory=lambda: Autoscaling.model_validate({}),
        description="Horizontal autoscaling of the active colour.",
    )
    resources: Resources = Field(
        default_factory=lambda: Resources.model_validate({}), description="CPU and memory of each scoring pod."
    )
    threshold: float | None = Field(
        None, ge=0, le=1, description="Override of the model's decision threshold (fraud if probability >= threshold)."
    )
    http_port: int = Field(3000, ge=1, le=65535, description="Container port of the HTTP API.")
    grpc_port: int = Field(8001, ge=1, le=65535, description="Container port of the gRPC OIP v2 API.")
    rollout: Rollout = Field(
        default_factory=lambda: Rollout.model_validate({}), description="How a new model reaches traffic."
    )
    paused: bool = Field(False, description="Hold any rollout in progress where it is (like Argo's spec.paused).")
    scheduling: Scheduling = Field(
        default_factory=lambda: Scheduling.model_validate({}),
        description="Node selector and tolerations of the scoring pods (patched in place, like resources: a change "
        "moves pods but is not a new revision).",
    )

    def full_replicas(self) -> int:
        return self.autoscaling.min_replicas if self.autoscaling.enabled else self.replicas


# --- status ------------------------------------------------------------------------------------


class Condition(_Api):
    """One Argo-style condition."""

    type: Literal["Available", "Progressing", "Degraded", "Paused"] = Field(description="Condition type.")
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    reason: str = Field("", description="CamelCase reason for the last transition.")
    message: str = Field("", description="Human-readable detail.")
    last_transition_time: str = Field("", description="When the status last changed (RFC 3339).")


class RevisionEntry(_Api):
    """One revision of the pod template and how its rollout ended."""

    revision: int = Field(description="Revision number (grows with each new pod template).")
    template_hash: str = Field(description="Hash of the model, image and threshold of this revision.")
    model: dict[str, Any] = Field(description="The spec.model of this revision (restored by a rollback).")
    image: str = Field(description="The image of this revision.")
    threshold: float | None = Field(None, description="The threshold override of this revision.")
    outcome: Literal["Progressing", "Stable", "Failed", "Aborted"] = Field(description="How the rollout ended.")
    at: str = Field("", description="When the outcome was recorded (RFC 3339).")


class AnalysisRun(_Api):
    """One analysis verdict."""

    kind: Literal["pre", "post"] = Field(description="pre-promotion (smoke + quality) or post-promotion (SLO).")
    template_hash: str = Field(description="Revision hash the analysis judged.")
    result: Literal["Passed", "Failed", "Inconclusive"] = Field(description="Verdict.")
    message: str = Field("", description="What was measured.")
    at: str = Field("", description="When it ran (RFC 3339).")


class FraudModelStatus(_Api):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)

    phase: Phase | None = Field(None, description="Healthy, Progressing, Paused or Degraded.")
    message: str = Field("", description="Why the phase is what it is.")
    current_step: str = Field("", description="Blue-green step in progress.")
    observed_generation: int = Field(0, description="metadata.generation last acted on.")
    active_colour: Colour | None = Field(None, description="Colour the stable Service selects.")
    active_revision: int | None = Field(None, description="Revision of the active colour.")
    active_hash: str | None = Field(None, description="Template hash of the active colour.")
    active_version: str | None = Field(None, description="Model version (or alias/URI) of the active colour.")
    preview_colour: Colour | None = Field(None, description="Colour the preview Service selects.")
    preview_revision: int | None = Field(None, description="Revision of the preview colour.")
    stable_revision: int | None = Field(None, description="Last revision that completed its rollout.")
    previous_colour: Colour | None = Field(None, description="Old colour kept warm for instant rollback.")
    previous_hash: str | None = Field(None, description="Template hash of the warm old colour.")
    scale_down_at: str | None = Field(None, description="When the warm old colour is scaled to zero (RFC 3339).")
    switched_at: str | None = Field(None, description="When traffic last moved to the active colour (RFC 3339).")
    post_analysis_pending: bool = Field(False, description="Post-promotion analysis of the active colour is due.")
    halted_hash: str | None = Field(None, description="Revision hash that failed or was aborted; not retried.")
    halted_reason: str | None = Field(None, description="AnalysisFailed, RolledBack or Aborted.")
    promoted_hash: str | None = Field(None, description="Revision hash a user promoted past the pause.")
    preview_since: str | None = Field(
        None,
        description="When the preview of previewHash was deployed (RFC 3339): progressDeadlineSeconds runs from it.",
    )
    preview_hash: str | None = Field(None, description="Template hash whose preview started at previewSince.")
    analysis: list[AnalysisRun] = Field(default_factory=list, description="Latest analysis runs.")
    revisions: list[RevisionEntry] = Field(default_factory=list, description="Short revision history (newest last).")
    conditions: list[Condition] = Field(default_factory=list, description="Available, Progressing, Degraded, Paused.")


def parse_spec(spec: Any) -> FraudModelSpec:
    return FraudModelSpec.model_validate(dict(spec))


def parse_status(status: Any) -> FraudModelStatus:
    return FraudModelStatus.model_validate(dict(status or {}))


def dump(model: BaseModel) -> dict[str, Any]:
    """camelCase JSON-ready dict, without unset optional fields."""
    return model.model_dump(by_alias=True, exclude_none=True, mode="json")
