"""Run a demo's steps in order: print each title and what the step returns; stop at the first failure."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

Subject = TypeVar("Subject")


def run_steps(name: str, subject: Subject, steps: Sequence[tuple[str, Callable[[Subject], str]]]) -> float | None:
    """Seconds the steps took, or None after the first failing step (its title and error on stderr)."""
    began = time.monotonic()
    for title, step in steps:
        print(f"==> {title}", flush=True)
        try:
            print(step(subject), flush=True)
        except Exception as exc:  # a demo reports any failure of a step and stops there
            print(f"{name} step '{title}' failed: {exc}", file=sys.stderr)
            return None
    return time.monotonic() - began
