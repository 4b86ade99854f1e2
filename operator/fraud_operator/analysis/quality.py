"""Model-quality analysis: a labelled replay set scored by the new colour and by the champion (stable colour).

The replay set is real labelled rows (every fraud plus a seeded sample of legitimate rows); legitimate rows are
weighted so the metrics speak for the real stream (``LEGIT_WEIGHT``, scaled up by the sampling fraction).
The new model passes when its weighted PR-AUC (average precision) is at least the champion's minus the
tolerance and its weighted alert rate lies within bounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from fraud_operator.analysis import CannotRun, Unreachable, Verdict
from lfd.contract import FEATURES, LABEL_FIELD, LEGIT_WEIGHT
from lfd.response import SCORE_PATH, build_request, is_fraud, results_for

BATCH = 500


@dataclass(frozen=True)
class ReplaySet:
    records: list[dict[str, Any]]
    labels: npt.NDArray[np.int8]
    weights: npt.NDArray[np.float64]


@lru_cache(maxsize=4)
def load_replay_set(path: str, sample_size: int, seed: int = 7) -> ReplaySet:
    import pandas as pd

    try:
        df = pd.read_csv(path)
        missing = [c for c in (*FEATURES, LABEL_FIELD) if c not in df.columns]
    except (OSError, ValueError) as e:
        raise CannotRun(f"quality: replay set {path!r} unreadable ({type(e).__name__}: {e}); "
                        "set the operator's --replay-set / LFD_OPERATOR_REPLAY_SET (chart: operator.replaySet)") from e  # fmt: skip
    if missing:
        raise CannotRun(
            f"quality: replay set {path!r} lacks columns {missing[:5]}: expected the transaction contract + Class"
        )
    fraud, legit = df[df[LABEL_FIELD] == 1], df[df[LABEL_FIELD] == 0]
    sample = legit.sample(n=min(sample_size, len(legit)), random_state=seed)
    rows = pd.concat([fraud, sample], ignore_index=True)
    legit_weight = LEGIT_WEIGHT * len(legit) / len(sample)
    labels = rows[LABEL_FIELD].to_numpy(dtype=np.int8)
    weights = np.where(labels == 1, 1.0, legit_weight)
    features = rows[list(FEATURES)].to_numpy(dtype=float)
    records = [
        {"id": f"replay-{i}", **dict(zip(FEATURES, map(float, row), strict=True))} for i, row in enumerate(features)
    ]
    return ReplaySet(records, labels, weights)


@dataclass(frozen=True)
class Scores:
    probabilities: npt.NDArray[np.float64]
    alerts: npt.NDArray[np.bool_]


def score(base_url: str, records: list[dict[str, Any]]) -> Scores:
    import httpx

    probabilities: list[float] = []
    alerts: list[bool] = []
    with httpx.Client(timeout=30.0) as client:
        for start in range(0, len(records), BATCH):
            try:
                batch = records[start : start + BATCH]
                response = client.post(f"{base_url}{SCORE_PATH}", json=build_request(batch))
            except httpx.TransportError as e:
                raise Unreachable(f"quality: {base_url} unreachable: {e}") from e
            if response.status_code != 200:
                raise Unreachable(f"quality: {base_url} answered HTTP {response.status_code}: {response.text[:200]}")
            batch_probabilities, batch_alerts = read_scores(batch, response.json())
            probabilities += batch_probabilities
            alerts += batch_alerts
    return Scores(np.asarray(probabilities), np.asarray(alerts))


def read_scores(batch: list[dict[str, Any]], body: Any) -> tuple[list[float], list[bool]]:
    """Pure: probabilities and alerts of one /score answer, in the order of ``batch`` (``lfd.response``)."""
    results = results_for([tx["id"] for tx in batch], body)
    return [r["fraud_probability"] for r in results], [is_fraud(r) for r in results]


def weighted_pr_auc(labels: npt.NDArray[Any], probabilities: npt.NDArray[Any], weights: npt.NDArray[Any]) -> float:
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(labels, probabilities, sample_weight=weights))


def judge(
    replay: ReplaySet,
    candidate: Scores,
    champion: Scores,
    tolerance: float,
    min_alert_rate: float,
    max_alert_rate: float,
) -> Verdict:
    """Pure verdict from two sets of scores of the same replay set."""
    new_auc = weighted_pr_auc(replay.labels, candidate.probabilities, replay.weights)
    old_auc = weighted_pr_auc(replay.labels, champion.probabilities, replay.weights)
    alert_rate = float(np.average(candidate.alerts, weights=replay.weights))
    summary = (
        f"quality: weighted PR-AUC {new_auc:.3f} vs champion {old_auc:.3f} (tolerance {tolerance}), "
        f"alert rate {alert_rate:.4f} (bounds {min_alert_rate}-{max_alert_rate}), {len(replay.labels)} rows"
    )
    if new_auc < old_auc - tolerance:
        return Verdict("Failed", summary + ": PR-AUC below the champion's")
    if not min_alert_rate <= alert_rate <= max_alert_rate:
        return Verdict("Failed", summary + ": alert rate out of bounds")
    return Verdict("Passed", summary)


def run_quality(
    candidate_url: str,
    champion_url: str,
    replay_path: str,
    sample_size: int,
    tolerance: float,
    min_alert_rate: float,
    max_alert_rate: float,
) -> Verdict:
    replay = load_replay_set(replay_path, sample_size)
    return judge(
        replay,
        score(candidate_url, replay.records),
        score(champion_url, replay.records),
        tolerance,
        min_alert_rate,
        max_alert_rate,
    )
