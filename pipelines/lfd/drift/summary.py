"""Read an Evidently 0.7 ``DataDriftPreset`` snapshot (``snapshot.dict()``) into plain numbers (pure).

Each ``ValueDrift`` metric carries its column, method and threshold in ``config`` and the drift score
in ``value``. Evidently picks the method by column size and type: p-value tests (K-S, chi-square)
drift when the value is *below* the threshold, distances (Wasserstein, Jensen-Shannon, PSI) when it
is *at or above* it. The score column (``SCORE_COLUMN``) is reported apart from the features.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

SCORE_COLUMN: Final = "fraud_probability"


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    method: str
    score: float
    threshold: float
    drifted: bool


@dataclass(frozen=True)
class DriftSummary:
    reference_rows: int
    current_rows: int
    features: list[ColumnDrift] = field(default_factory=list)
    score: ColumnDrift | None = None

    @property
    def share_drifted(self) -> float:
        return sum(c.drifted for c in self.features) / len(self.features) if self.features else 0.0

    @property
    def drifted_features(self) -> list[str]:
        return [c.column for c in self.features if c.drifted]


def is_p_value(method: str) -> bool:
    return "p_value" in method.lower()


def column_drift(metric: Mapping[str, Any]) -> ColumnDrift | None:
    config = metric.get("config") or {}
    if not str(config.get("type", "")).endswith("ValueDrift"):
        return None
    method, threshold, value = str(config["method"]), float(config["threshold"]), float(metric["value"])
    drifted = value < threshold if is_p_value(method) else value >= threshold
    return ColumnDrift(str(config["column"]), method, value, threshold, drifted)


def summarise(
    snapshot: Mapping[str, Any], features: Sequence[str], reference_rows: int, current_rows: int
) -> DriftSummary:
    columns = [c for c in (column_drift(m) for m in snapshot.get("metrics", [])) if c is not None]
    by_name = {c.column: c for c in columns}
    missing = [f for f in features if f not in by_name]
    if missing:
        raise ValueError(f"Evidently reported no drift for columns {missing[:5]}: was the preset run on them?")
    return DriftSummary(reference_rows, current_rows, [by_name[f] for f in features], by_name.get(SCORE_COLUMN))
