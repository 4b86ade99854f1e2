"""Analyses that gate a rollout: smoke and model quality before the switch, SLOs after it.

Each returns a ``Verdict``; a target that cannot be reached raises ``Unreachable`` (no verdict: retried).
An analysis that cannot run at all (its replay set is missing or unreadable: a configuration error that
retrying will not fix) raises ``CannotRun``; the rollout is then halted as Degraded with that reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


class Unreachable(RuntimeError):
    """The service (or Prometheus) could not be reached; the analysis is retried, not failed."""


class CannotRun(RuntimeError):
    """The analysis itself cannot run (e.g. no readable replay set): the message says what to fix."""


@dataclass(frozen=True)
class Verdict:
    result: Literal["Passed", "Failed", "Inconclusive"]
    message: str

    @property
    def passed(self) -> bool:
        return self.result == "Passed"
