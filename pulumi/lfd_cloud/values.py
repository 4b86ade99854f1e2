"""The chart values the program passes to the Helm release: a pure function of plain strings, so the
tests validate exactly these values with `helm template` against values.schema.json."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lfd_cloud.settings import Settings

ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"


@dataclass(frozen=True)
class Wiring:
    """What the infrastructure layer hands the app layer (all empty for target "cluster")."""

    repository_urls: Mapping[str, str] = field(default_factory=dict)  # image -> ECR repository URL
    role_arns: Mapping[str, str] = field(default_factory=dict)  # workload -> IRSA role ARN
    bucket: str = ""
    kafka_bootstrap: str = ""


def release_fullname(release: str, chart: str = "live-fraud-detector") -> str:
    """The chart's lfd.fullname helper, in Python (object names and the transactional-id prefix use it)."""
    return release if chart in release else f"{release}-{chart}"[:63].rstrip("-")


def _image(settings: Settings, wiring: Wiring, image: str) -> dict[str, str]:
    url = wiring.repository_urls.get(image)
    return {"repository": url, "tag": settings.image_tag} if url else {"tag": settings.image_tag}


def _service_account(wiring: Wiring, workload: str) -> dict[str, Any]:
    arn = wiring.role_arns.get(workload)
    return {"annotations": {ROLE_ANNOTATION: arn}} if arn else {}


def chart_values(settings: Settings, wiring: Wiring) -> dict[str, Any]:
    values: dict[str, Any] = {
        "operator": {
            "image": _image(settings, wiring, "operator"),
            "serviceAccount": _service_account(wiring, "operator"),
            "prometheusUrl": settings.prometheus_url,
        },
        "scoring": {
            "image": {k: v for k, v in _image(settings, wiring, "scoring").items() if k != "pullPolicy"},
            "serviceAccount": _service_account(wiring, "scoring"),
        },
        "tests": {"image": _image(settings, wiring, "scoring")},
        "fraudModels": [dict(m) for m in settings.fraud_models],
        "networkPolicy": {"enabled": settings.network_policies},
        "mlflow": {"enabled": settings.mlflow_enabled},
        "streaming": {"enabled": settings.streaming_enabled},
    }
    if settings.mlflow_enabled:
        values["mlflow"]["serviceAccount"] = _service_account(wiring, "mlflow")
        if wiring.bucket:
            values["mlflow"]["artifactsDestination"] = f"s3://{wiring.bucket}/mlflow"
    if settings.streaming_enabled:
        values["streaming"]["image"] = _image(settings, wiring, "streaming")
        values["streaming"]["kafka"] = {"bootstrap": wiring.kafka_bootstrap or settings.kafka_bootstrap}
        if wiring.bucket:
            values["streaming"]["stateDir"] = f"s3://{wiring.bucket}/flink"
    pruned: dict[str, Any] = _prune(values)
    return pruned


def _prune(value: Any) -> Any:
    """Drop empty objects, so the chart's defaults apply where we have nothing to say."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v != {}}
    return value
