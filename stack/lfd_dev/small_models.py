"""Small real models for the operator's tests and demo: two good ones and a deliberately bad one (shuffled labels)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lfd.constants import DEV_DATA
from lfd.contract import FEATURES, LABEL_FIELD
from lfd.model_bundle import BundleMetadata, ModelBundle

DEV_CSV = DEV_DATA


def train_bundle(directory: Path, seed: int, shuffle_labels: bool = False, rounds: int = 40) -> Path:
    """XGBoost on the dev rows (1 thread, a few seconds). ``shuffle_labels`` makes a model that learned nothing."""
    import pandas as pd
    import xgboost as xgb

    df = pd.read_csv(DEV_CSV)
    labels = df[LABEL_FIELD].to_numpy()
    if shuffle_labels:
        labels = np.random.default_rng(seed).permutation(labels)
    matrix = xgb.DMatrix(df[list(FEATURES)].to_numpy(dtype=np.float32), label=labels, feature_names=list(FEATURES))
    params = {
        "objective": "binary:logistic",
        "max_depth": 4,
        "eta": 0.2,
        "subsample": 0.8,
        "seed": seed,
        "nthread": 1,
        "eval_metric": "aucpr",
    }
    booster = xgb.train(params, matrix, num_boost_round=rounds)
    metadata = BundleMetadata(flavor="xgboost", threshold=0.5, training_fingerprint=f"operator-test-{seed}")
    return ModelBundle(booster, metadata).save(directory)
