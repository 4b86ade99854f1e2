"""What the cluster looks like: a FraudModel's children parsed (purely) into the facts ``decide`` needs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fraud_operator.builders import (
    COLOUR_LABEL,
    COLOURS,
    HASH_LABEL,
    deployment_name,
    preview_service_name,
)
from fraud_operator.spec import Colour


@dataclass(frozen=True)
class ColourState:
    """One colour's Deployment and how many of its pods are ready endpoints."""

    exists: bool = False
    template_hash: str | None = None
    spec_replicas: int = 0
    replicas: int = 0
    updated_replicas: int = 0
    ready_replicas: int = 0
    up_to_date: bool = False  # the Deployment controller has seen the latest spec
    ready_endpoints: int = 0

    def ready_for(self, thash: str, replicas: int) -> bool:
        """Runs ``thash`` with at least ``replicas`` ready pods (and at least one ready endpoint), nothing older."""
        return (
            self.exists
            and self.template_hash == thash
            and self.up_to_date
            and self.updated_replicas >= replicas
            and self.ready_replicas >= replicas
            and self.replicas == self.updated_replicas
            and self.ready_endpoints >= 1
        )

    def warm(self, thash: str) -> bool:
        """Runs ``thash`` with ready pods, though no Service may select it (the old colour after a switch)."""
        return (
            self.exists
            and self.template_hash == thash
            and self.up_to_date
            and self.spec_replicas >= 1
            and self.ready_replicas >= 1
            and self.replicas == self.updated_replicas
        )


@dataclass(frozen=True)
class Observed:
    colours: dict[Colour, ColourState] = field(default_factory=lambda: {c: ColourState() for c in COLOURS})
    stable_selects: Colour | None = None
    preview_selects: Colour | None = None
    hpa_target: Colour | None = None


def _colour_of(labels: Mapping[str, str] | None) -> Colour | None:
    value = (labels or {}).get(COLOUR_LABEL)
    return "blue" if value == "blue" else "green" if value == "green" else None


def _deployment_state(dep: Mapping[str, Any], ready_endpoints: int) -> ColourState:
    meta, spec, status = dep.get("metadata", {}), dep.get("spec", {}), dep.get("status") or {}
    return ColourState(
        exists=True,
        template_hash=(meta.get("labels") or {}).get(HASH_LABEL),
        spec_replicas=int(spec.get("replicas") or 0),
        replicas=int(status.get("replicas") or 0),
        updated_replicas=int(status.get("updatedReplicas") or 0),
        ready_replicas=int(status.get("readyReplicas") or 0),
        up_to_date=int(status.get("observedGeneration") or 0) >= int(meta.get("generation") or 0),
        ready_endpoints=ready_endpoints,
    )


def ready_endpoints_by_colour(name: str, endpoint_slices: Iterable[Mapping[str, Any]]) -> dict[Colour, int]:
    """Ready pods per colour across the stable and preview Services' EndpointSlices (a pod counts once)."""
    pods: dict[Colour, set[str]] = {c: set() for c in COLOURS}
    for eps in endpoint_slices:
        for endpoint in eps.get("endpoints") or []:
            ref = endpoint.get("targetRef") or {}
            pod = str(ref.get("name", ""))
            if not (endpoint.get("conditions") or {}).get("ready", False):
                continue
            for colour in COLOURS:
                if pod.startswith(deployment_name(name, colour) + "-"):
                    pods[colour].add(pod)
    return {c: len(p) for c, p in pods.items()}


def parse_observed(
    name: str,
    deployments: Iterable[Mapping[str, Any]],
    services: Iterable[Mapping[str, Any]],
    endpoint_slices: Iterable[Mapping[str, Any]],
    hpa: Mapping[str, Any] | None,
) -> Observed:
    endpoints = ready_endpoints_by_colour(name, endpoint_slices)
    colours: dict[Colour, ColourState] = {c: ColourState(ready_endpoints=0) for c in COLOURS}
    for dep in deployments:
        colour = _colour_of(dep.get("metadata", {}).get("labels"))
        if colour is not None and dep["metadata"].get("name") == deployment_name(name, colour):
            colours[colour] = _deployment_state(dep, endpoints[colour])
    stable = preview = None
    for svc in services:
        svc_name = svc.get("metadata", {}).get("name")
        colour = _colour_of((svc.get("spec") or {}).get("selector"))
        if svc_name == name:
            stable = colour
        elif svc_name == preview_service_name(name):
            preview = colour
    hpa_target: Colour | None = None
    if hpa is not None:
        target = str(hpa.get("spec", {}).get("scaleTargetRef", {}).get("name", ""))
        hpa_target = next((c for c in COLOURS if target == deployment_name(name, c)), None)
    return Observed(colours=colours, stable_selects=stable, preview_selects=preview, hpa_target=hpa_target)
