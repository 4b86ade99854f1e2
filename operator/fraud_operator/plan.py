"""The vocabulary of a reconcile: steps ``decide`` asks for and ``act`` carries out (idempotently)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from fraud_operator.spec import Colour, FraudModelSpec, FraudModelStatus


@dataclass(frozen=True)
class EnsureDeployment:
    """Create or patch ``<name>-<colour>`` from ``spec``; ``replicas=None`` leaves the count to the HPA."""

    colour: Colour
    spec: FraudModelSpec
    revision: int
    replicas: int | None


@dataclass(frozen=True)
class ScaleDeployment:
    colour: Colour
    replicas: int


@dataclass(frozen=True)
class EnsureService:
    role: Literal["stable", "preview"]
    colour: Colour


@dataclass(frozen=True)
class EnsureHPA:
    colour: Colour


@dataclass(frozen=True)
class DeleteHPA:
    pass


@dataclass(frozen=True)
class RunAnalysis:
    """Run an analysis; its verdict is recorded in status and read by the next ``decide``.

    ``ready``: the preview is past its progress deadline; ask it why it is not ready (a Failed ``pre`` verdict
    carrying the service's reason, or no verdict when it is ready and an analysis is merely still waiting)."""

    kind: Literal["pre", "post", "ready"]
    colour: Colour  # the colour judged (pre: the preview colour; post: the active one)
    stable_colour: Colour  # the champion the quality gate compares against
    template_hash: str


@dataclass(frozen=True)
class PatchSpec:
    """Rewrite the FraudModel's spec (rollback to a revision): a metadata+spec merge patch."""

    patch: dict[str, Any]


@dataclass(frozen=True)
class ClearAnnotations:
    keys: tuple[str, ...]


#: How a traffic switch came about: after the pre-promotion analysis, or a fast switch back to a warm colour.
RolloutKind = Literal["analysed", "fast"]


@dataclass(frozen=True)
class Event:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str
    #: Set on a traffic switch (``SwitchService``): what metrics count it as; the message is for people.
    rollout: RolloutKind | None = None


Step = (
    EnsureDeployment
    | ScaleDeployment
    | EnsureService
    | EnsureHPA
    | DeleteHPA
    | RunAnalysis
    | PatchSpec
    | ClearAnnotations
)


@dataclass
class Plan:
    """Ordered steps, the status to write (None: do not write, the spec changed), and events to post."""

    steps: list[Step] = field(default_factory=list)
    status: FraudModelStatus | None = None
    events: list[Event] = field(default_factory=list)

    def add(self, *steps: Step) -> Plan:
        self.steps.extend(steps)
        return self

    def event(self, reason: str, message: str, warning: bool = False, rollout: RolloutKind | None = None) -> Plan:
        self.events.append(Event("Warning" if warning else "Normal", reason, message, rollout))
        return self

    def names(self) -> list[str]:
        """Step class names: what table-driven tests compare."""
        return [type(s).__name__ for s in self.steps]
