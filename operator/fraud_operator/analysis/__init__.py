"""Analyses that gate a rollout: smoke and model quality before the switch, SLOs after it.

Each returns a ``Verdict``; a target that cannot be reached raises ``Unreachable`` (no verdict: retried).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


class Unreachable(RuntimeError):
    """The service (or Prometheus) could not be reached; the analysis is retried, not failed."""


@dataclass(frozen=True)
class Verdict:
    result: Literal["Passed", "Failed", "Inconclusive"]
    message: str

    @property
    def passed(self) -> bool:
        return self.result == "Passed"
