"""Reason codes: the features that moved a score most, from TreeSHAP contributions (pure functions).

Contributions are in log-odds, one column per contract feature plus the bias last (see
``lfd.model_bundle``). A reason is ranked by the *magnitude* of its contribution, so a legitimate
decision is explained by what pulled the score down as much as a fraud decision by what pushed it
up; the sign of ``contribution`` says which way (positive = towards fraud).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from lfd.contract import FEATURES
from lfd.model_bundle import FloatArray
from lfd.response import Reason as Reason  # the response contract's type (re-exported for callers)


def top_reasons(features: npt.NDArray[Any], contributions: FloatArray, k: int = 3) -> list[list[Reason]]:
    """For each row, the ``k`` features with the largest |contribution|, largest first (ties: contract order)."""
    n_features = len(FEATURES)
    if contributions.ndim != 2 or contributions.shape[1] != n_features + 1:
        raise ValueError(f"contributions must be (n, {n_features + 1}) with the bias last, got {contributions.shape}")
    if features.shape != (contributions.shape[0], n_features):
        raise ValueError(f"features {features.shape} do not match contributions {contributions.shape}")
    k = min(k, n_features)
    per_feature = contributions[:, :n_features]
    # stable sort on -|c| keeps contract order among equal magnitudes, so reasons are deterministic
    order = np.argsort(-np.abs(per_feature), axis=1, kind="stable")[:, :k]
    return [
        [Reason(feature=FEATURES[j], value=float(features[i, j]), contribution=float(per_feature[i, j])) for j in row]
        for i, row in enumerate(order)
    ]
