"""Run Evidently's ``Report([DataDriftPreset()])`` on a window vs the champion's reference sample (adapter).

Evidently takes ~2 minutes to import on a loaded 2-core machine, so it is imported here only. The
reference sample is the one stored with the model (``reference.parquet`` in the bundle, rows the
booster was fit on); both sides get the champion's scores as an extra column so the score
distribution is part of the same report and the same HTML page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lfd.contract import FEATURES, TIME_FIELD
from lfd.drift.summary import SCORE_COLUMN, DriftSummary, summarise

#: ``Time`` counts seconds since the capture started: it always "drifts" and the model ignores it.
DRIFT_FEATURES: tuple[str, ...] = tuple(f for f in FEATURES if f != TIME_FIELD)


@dataclass(frozen=True)
class DriftRun:
    summary: DriftSummary
    html: Path


def _frame(rows: pd.DataFrame, scores: Any) -> pd.DataFrame:
    missing = [f for f in DRIFT_FEATURES if f not in rows.columns]
    if missing:
        raise ValueError(f"drift window lacks contract columns {missing[:5]}")
    frame = rows[list(DRIFT_FEATURES)].astype("float64").reset_index(drop=True)
    frame[SCORE_COLUMN] = pd.Series(scores, dtype="float64").to_numpy()
    return frame


def run_report(
    reference: pd.DataFrame, reference_scores: Any, current: pd.DataFrame, current_scores: Any, html: Path
) -> DriftRun:
    """Evidently on (current vs reference), HTML written to ``html``; raises ValueError on an unusable window."""
    if len(current) < 50:
        raise ValueError(f"the drift window holds {len(current)} transactions; at least 50 are needed")
    from evidently import Report
    from evidently.presets import DataDriftPreset

    ref, cur = _frame(reference, reference_scores), _frame(current, current_scores)
    snapshot = Report([DataDriftPreset()]).run(cur, ref)
    html.parent.mkdir(parents=True, exist_ok=True)
    snapshot.save_html(str(html))
    return DriftRun(summarise(snapshot.dict(), DRIFT_FEATURES, len(ref), len(cur)), html)
