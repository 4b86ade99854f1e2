"""Reading an Evidently snapshot: p-value methods drift below the threshold, distances at or above it."""

from __future__ import annotations

import pytest

from lfd.drift.summary import summarise


def metric(column: str, method: str, threshold: float, value: float) -> dict[str, object]:
    return {
        "config": {
            "type": "evidently:metric_v2:ValueDrift",
            "column": column,
            "method": method,
            "threshold": threshold,
        },
        "value": value,
    }


SNAPSHOT = {
    "metrics": [
        {
            "config": {"type": "evidently:metric_v2:DriftedColumnsCount", "drift_share": 0.5},
            "value": {"count": 2.0, "share": 0.5},
        },
        metric("V1", "Wasserstein distance (normed)", 0.1, 0.4),
        metric("V2", "Wasserstein distance (normed)", 0.1, 0.05),
        metric("V3", "K-S p_value", 0.05, 0.01),
        metric("V4", "K-S p_value", 0.05, 0.5),
        metric("fraud_probability", "Wasserstein distance (normed)", 0.1, 0.3),
    ]
}


@pytest.mark.unit
def test_summary_reads_each_column_and_the_score_apart() -> None:
    summary = summarise(SNAPSHOT, ["V1", "V2", "V3", "V4"], reference_rows=100, current_rows=60)
    assert summary.drifted_features == ["V1", "V3"]
    assert summary.share_drifted == 0.5
    assert summary.score is not None and summary.score.drifted and summary.score.score == 0.3


@pytest.mark.unit
def test_a_column_missing_from_the_report_is_an_error() -> None:
    with pytest.raises(ValueError, match="no drift for columns"):
        summarise(SNAPSHOT, ["V1", "V9"], 100, 60)
