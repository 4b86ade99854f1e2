"""Shifting a replayed stream on purpose, to show the loop working (pure).

- ``features``: from transaction ``after`` on, V1..V12 are scaled by 1.5 and moved by +1 (a new
  merchant mix or a changed upstream encoder); true labels unchanged, so scores and quality move too.
- ``labels``: features unchanged, but from ``after`` on a share of legitimate transactions turn out
  to be fraud (a new fraud pattern the model cannot see): only the delayed labels reveal it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final, Literal

ShiftKind = Literal["none", "features", "labels"]
SHIFT_KINDS: Final[tuple[ShiftKind, ...]] = ("none", "features", "labels")
SHIFTED_FEATURES: Final = tuple(f"V{i}" for i in range(1, 13))


@dataclass(frozen=True)
class Shift:
    kind: ShiftKind = "none"
    after: int = 0  # index of the first shifted transaction
    label_flip_share: float = 0.02  # for ``labels``: share of legitimate rows relabelled fraud
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in SHIFT_KINDS:
            raise ValueError(f"shift must be one of {', '.join(SHIFT_KINDS)}, got {self.kind!r}")
        if self.after < 0 or not 0 <= self.label_flip_share <= 1:
            raise ValueError("after must be >= 0 and label_flip_share within [0, 1]")


@dataclass(frozen=True)
class Labelled:
    id: str
    features: dict[str, float]
    fraud: bool


def apply(rows: Sequence[tuple[dict[str, float], bool]], run_id: str, shift: Shift) -> Iterator[Labelled]:
    """Rows in order with ids ``<run_id>-<n>``, shifted from ``shift.after`` on."""
    rng = random.Random(shift.seed)
    for n, (features, fraud) in enumerate(rows):
        if n >= shift.after and shift.kind == "features":
            features = {k: (v * 1.5 + 1.0 if k in SHIFTED_FEATURES else v) for k, v in features.items()}
        if n >= shift.after and shift.kind == "labels" and not fraud and rng.random() < shift.label_flip_share:
            fraud = True
        yield Labelled(f"{run_id}-{n:08d}", features, fraud)
