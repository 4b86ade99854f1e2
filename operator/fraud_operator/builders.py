"""Pure builders of a FraudModel's children: plain dicts, no I/O, unit-tested as such.

Children of FraudModel ``X``:
  Deployment ``X-blue`` / ``X-green``  one per colour, BentoML scoring pods (the scoring image's entry point
                                        ``python -m scoring`` with ``--model-uri ...`` as its args)
  Service ``X``                         stable: selects the active colour
  Service ``X-preview``                 preview: selects the colour being rolled out (the active one otherwise)
  HorizontalPodAutoscaler ``X``         targets the active colour's Deployment
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from fraud_operator.spec import GROUP, Colour, FraudModelSpec, dump

FRAUDMODEL_LABEL = f"{GROUP}/fraudmodel"
COLOUR_LABEL = f"{GROUP}/colour"
HASH_LABEL = f"{GROUP}/template-hash"
REVISION_ANNOTATION = f"{GROUP}/revision"
MODEL_URI_ANNOTATION = f"{GROUP}/model-uri"
COLOURS: tuple[Colour, Colour] = ("blue", "green")


def other(colour: Colour) -> Colour:
    return "green" if colour == "blue" else "blue"


def deployment_name(name: str, colour: Colour) -> str:
    return f"{name}-{colour}"


def preview_service_name(name: str) -> str:
    return f"{name}-preview"


def template_hash(spec: FraudModelSpec) -> str:
    """Identity of a revision: what changes the scores (model, image, threshold). Resources are patched in place."""
    key = {"model": spec.model.resolved_uri(), "image": spec.image, "threshold": spec.threshold}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:10]


@dataclass(frozen=True)
class BuildContext:
    """Operator-level settings the pods need (not part of the FraudModel)."""

    mlflow_tracking_uri: str | None = None
    #: The scoring pods' ServiceAccount (the chart's ``scoring.serviceAccount.name``: IRSA to read model
    #: artifacts); None runs them as the namespace's ``default``.
    service_account: str | None = None


def _labels(name: str, colour: Colour | None = None) -> dict[str, str]:
    labels = {
        "app.kubernetes.io/name": "fraud-scoring",
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/managed-by": "fraud-operator",
        FRAUDMODEL_LABEL: name,
    }
    if colour is not None:
        labels[COLOUR_LABEL] = colour
    return labels


def selector(name: str, colour: Colour) -> dict[str, str]:
    return {FRAUDMODEL_LABEL: name, COLOUR_LABEL: colour}


def _resources(spec: FraudModelSpec) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for kind, amounts in (("requests", spec.resources.requests), ("limits", spec.resources.limits)):
        values = {k: v for k, v in (("cpu", amounts.cpu), ("memory", amounts.memory)) if v is not None}
        if values:
            out[kind] = values
    return out


def model_args(spec: FraudModelSpec) -> list[str]:
    """A registry URI is resolved by the pod (`--model-uri`); an absolute path is a bundle baked into the image."""
    uri = spec.model.resolved_uri()
    return ["--model-dir", uri] if uri.startswith("/") else ["--model-uri", uri]


#: Seconds a terminating scoring pod keeps serving before SIGTERM (within terminationGracePeriodSeconds 30).
PRESTOP_DRAIN_S = 5
#: Read by the scoring service (``scoring.config.ScoringConfig.threshold``); a test checks both ends agree.
THRESHOLD_ENV = "LFD_SCORING_THRESHOLD"
#: ``scoring.config.ScoringConfig.colour``: the service reports it in OIP responses' parameters, so a client
#: (the streaming job) can tell which colour scored a batch through the stable Service.
COLOUR_ENV = "LFD_SCORING_COLOUR"


def _container(spec: FraudModelSpec, colour: Colour, ctx: BuildContext) -> dict[str, Any]:
    env = [{"name": COLOUR_ENV, "value": colour}]
    if spec.threshold is not None:
        env.append({"name": THRESHOLD_ENV, "value": str(spec.threshold)})
    if ctx.mlflow_tracking_uri:
        env.append({"name": "MLFLOW_TRACKING_URI", "value": ctx.mlflow_tracking_uri})
    return {
        "name": "scoring",
        "image": spec.image,
        # Only args: the image's ENTRYPOINT is `python -m scoring --host 0.0.0.0 ...` (services/scoring/Dockerfile),
        # and Kubernetes appends args to it; a command here would bypass the image's own entry point.
        "args": [
            *model_args(spec),
            "--http-port",
            str(spec.http_port),
            "--grpc-port",
            str(spec.grpc_port),
        ],
        "env": env,
        "ports": [
            {"name": "http", "containerPort": spec.http_port, "protocol": "TCP"},
            {"name": "grpc", "containerPort": spec.grpc_port, "protocol": "TCP"},
        ],
        "readinessProbe": {"httpGet": {"path": "/v2/health/ready", "port": "http"}, "periodSeconds": 5},
        "livenessProbe": {
            "httpGet": {"path": "/v2/health/live", "port": "http"},
            "periodSeconds": 10,
            "initialDelaySeconds": 30,
        },
        "resources": _resources(spec),
        # A pod being removed is taken out of the Service's endpoints while it still runs, but kube-proxy
        # on each node rewrites its rules a moment later: keep serving meanwhile, then SIGTERM (BentoML
        # finishes in-flight requests). The sleep action needs no binary in the image (Kubernetes >= 1.30).
        "lifecycle": {"preStop": {"sleep": {"seconds": PRESTOP_DRAIN_S}}},
        # The image runs as uid 10001 and writes only /tmp (an emptyDir): enforce it, not just hope for it.
        "securityContext": {
            "runAsNonRoot": True,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }


def build_deployment(
    name: str, colour: Colour, spec: FraudModelSpec, revision: int, replicas: int | None, ctx: BuildContext
) -> dict[str, Any]:
    """``replicas=None`` leaves the count to the HorizontalPodAutoscaler (omitted from the patch)."""
    thash = template_hash(spec)
    labels = _labels(name, colour)
    deployment_spec: dict[str, Any] = {
        "selector": {"matchLabels": selector(name, colour)},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
        "template": {
            "metadata": {
                "labels": {**labels, HASH_LABEL: thash},
                "annotations": {
                    "prometheus.io/scrape": "true",
                    "prometheus.io/port": str(spec.http_port),
                    "prometheus.io/path": "/metrics",
                },
            },
            "spec": {
                "containers": [_container(spec, colour, ctx)],
                "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}],
                "securityContext": {
                    "runAsUser": 10001,
                    "runAsGroup": 10001,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "terminationGracePeriodSeconds": 30,
            },
        },
    }
    pod_spec = deployment_spec["template"]["spec"]
    if ctx.service_account:
        pod_spec["serviceAccountName"] = ctx.service_account
    # Always present (empty when unset), so a merge patch of a live Deployment also removes what was dropped.
    pod_spec["nodeSelector"] = dict(spec.scheduling.node_selector) or None
    pod_spec["tolerations"] = [dump(t) for t in spec.scheduling.tolerations]
    if replicas is not None:
        deployment_spec["replicas"] = replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": deployment_name(name, colour),
            "labels": {**labels, HASH_LABEL: thash},
            "annotations": {REVISION_ANNOTATION: str(revision), MODEL_URI_ANNOTATION: spec.model.resolved_uri()},
        },
        "spec": deployment_spec,
    }


def build_scale(replicas: int) -> dict[str, Any]:
    """Patch body that only changes a Deployment's replica count."""
    return {"spec": {"replicas": replicas}}


def _service(service_name: str, name: str, colour: Colour, spec: FraudModelSpec, role: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": service_name, "labels": {**_labels(name), f"{GROUP}/role": role}},
        "spec": {
            "type": "ClusterIP",
            "selector": selector(name, colour),
            "ports": [
                {"name": "http", "port": spec.http_port, "targetPort": "http", "protocol": "TCP"},
                {"name": "grpc", "port": spec.grpc_port, "targetPort": "grpc", "protocol": "TCP"},
            ],
        },
    }


def build_stable_service(name: str, colour: Colour, spec: FraudModelSpec) -> dict[str, Any]:
    return _service(name, name, colour, spec, "stable")


def build_preview_service(name: str, colour: Colour, spec: FraudModelSpec) -> dict[str, Any]:
    return _service(preview_service_name(name), name, colour, spec, "preview")


def build_hpa(name: str, colour: Colour, spec: FraudModelSpec) -> dict[str, Any]:
    scaling = spec.autoscaling
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "labels": _labels(name)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment_name(name, colour)},
            "minReplicas": scaling.min_replicas,
            "maxReplicas": scaling.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": scaling.target_cpu_utilization_percentage,
                        },
                    },
                }
            ],
        },
    }
