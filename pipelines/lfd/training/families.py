"""The two model families: search spaces and native training (XGBoost ``xgb.train``, LightGBM ``lgb.train``).

Native APIs, not the sklearn wrappers: the bundle stores the native booster, and serving scores it
with ``inplace_predict`` / ``predict`` on float32 without any wrapper in between.

Class imbalance is handled deliberately: ``scale_pos_weight`` (frauds' gradient weight) is part of
every search space, and early stopping watches PR-AUC on validation rows weighted to the real
stream's fraud rate, so tuning optimises the headline metric.

``Time`` is neutralised by default: it counts seconds since the start of a two-day capture, so a
split on it learns *when in those two days* frauds happened, which says nothing about later
transactions. Training sees a constant in its place; the booster never splits on it and scores
any ``Time`` identically.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import optuna
import pandas as pd

from lfd.contract import FEATURE_DTYPE, FEATURES, LABEL_FIELD, LEGIT_WEIGHT, TIME_FIELD

Family = Literal["xgboost", "lightgbm"]
FAMILIES: tuple[Family, ...] = ("xgboost", "lightgbm")
#: Kept by the robust family choice unless the other family beats it by more than the fold spread
#: (``lfd.training.selection.select_family``). LightGBM because it was the steadier family on held-out
#: rows in every earlier multi-seed measurement (stratified, seeds 0-4: sd 0.019 / 0.038 / 0.022 vs
#: XGBoost's 0.077 / 0.081 / 0.083) and within noise of XGBoost on the time split (0.806 vs 0.812).
#: Those seeds are also the measurement seeds, so docs/training.md checks the rule on fresh seeds too.
PREFERRED_FAMILY: Family = "lightgbm"
MAX_ROUNDS = 1000
EARLY_STOPPING_ROUNDS = 50
NEUTRAL_TIME = 0.0


@dataclass(frozen=True)
class Matrices:
    x: npt.NDArray[np.float32]
    y: npt.NDArray[np.int8]
    weight: npt.NDArray[np.float64]  # legitimate rows weighted to the real stream's fraud rate


def matrices(frame: pd.DataFrame, use_time: bool = False) -> Matrices:
    features = frame[list(FEATURES)].copy()
    if not use_time:
        features[TIME_FIELD] = NEUTRAL_TIME
    y = frame[LABEL_FIELD].to_numpy(dtype=np.int8)
    return Matrices(
        x=np.ascontiguousarray(features.to_numpy(dtype=FEATURE_DTYPE)),
        y=y,
        weight=np.where(y == 1, 1.0, LEGIT_WEIGHT),
    )


# --- search spaces -------------------------------------------------------------------------------


def default_params(family: Family) -> dict[str, Any]:
    """A sensible first trial, so even a tiny budget yields a reasonable model."""
    if family == "xgboost":
        return {
            "max_depth": 4,
            "learning_rate": 0.05,
            "subsample": 0.8,
            "colsample_bytree": 0.7,
            "min_child_weight": 1.0,
            "reg_lambda": 1.0,
            "reg_alpha": 0.001,
            "scale_pos_weight": 5.0,
        }
    return {
        "num_leaves": 15,
        "learning_rate": 0.05,
        "bagging_fraction": 0.8,
        "feature_fraction": 0.7,
        "min_child_samples": 20,
        "lambda_l2": 1.0,
        "lambda_l1": 0.001,
        "scale_pos_weight": 5.0,
    }


def suggest_params(family: Family, trial: optuna.Trial) -> dict[str, Any]:
    """Ranges kept to the stable region: with ~100 validation frauds, a high learning rate wins
    trials on noise and then collapses on later data (measured: LightGBM at lr 0.27 scored 0.86
    on validation, 0.40 on test)."""
    common = {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.15, log=True),
        "scale_pos_weight": trial.suggest_float("scale_pos_weight", 1.0, 50.0, log=True),
    }
    if family == "xgboost":
        return {
            **common,
            "max_depth": trial.suggest_int("max_depth", 2, 7),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
            "min_child_weight": trial.suggest_float("min_child_weight", 0.5, 20.0, log=True),
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
            "reg_alpha": trial.suggest_float("reg_alpha", 1e-3, 10.0, log=True),
        }
    return {
        **common,
        "num_leaves": trial.suggest_int("num_leaves", 4, 48, log=True),
        "bagging_fraction": trial.suggest_float("bagging_fraction", 0.5, 1.0),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.3, 1.0),
        "min_child_samples": trial.suggest_int("min_child_samples", 10, 200, log=True),
        "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 10.0, log=True),
        "lambda_l1": trial.suggest_float("lambda_l1", 1e-3, 10.0, log=True),
    }


# --- native training -----------------------------------------------------------------------------


def _xgb_params(params: dict[str, Any], seed: int, threads: int) -> dict[str, Any]:
    return {
        **params,
        "objective": "binary:logistic",
        "eval_metric": "aucpr",
        "tree_method": "hist",
        "seed": seed,
        "nthread": threads,
        "verbosity": 0,
    }


def _lgb_params(params: dict[str, Any], seed: int, threads: int) -> dict[str, Any]:
    return {
        **params,
        "objective": "binary",
        "metric": "average_precision",
        "bagging_freq": 1,
        "seed": seed,
        "num_threads": threads,
        "verbosity": -1,
        "deterministic": True,
        "force_row_wise": True,
        "feature_pre_filter": False,
    }


def fit(
    family: Family,
    params: dict[str, Any],
    train: Matrices,
    valid: Matrices | None,
    rounds: int,
    seed: int,
    threads: int,
) -> tuple[Any, int]:
    """Train a native booster; with ``valid``, stop early on weighted validation PR-AUC.

    Returns the booster (truncated to its best round) and the number of rounds it kept.
    """
    if family == "xgboost":
        return _fit_xgboost(params, train, valid, rounds, seed, threads)
    return _fit_lightgbm(params, train, valid, rounds, seed, threads)


def _fit_xgboost(
    params: dict[str, Any], train: Matrices, valid: Matrices | None, rounds: int, seed: int, threads: int
) -> tuple[Any, int]:
    import xgboost as xgb

    dtrain = xgb.DMatrix(train.x, label=train.y, feature_names=list(FEATURES))
    evals, stopping = [], None
    if valid is not None:
        evals = [(xgb.DMatrix(valid.x, label=valid.y, weight=valid.weight, feature_names=list(FEATURES)), "valid")]
        stopping = EARLY_STOPPING_ROUNDS
    booster = xgb.train(
        _xgb_params(params, seed, threads),
        dtrain,
        num_boost_round=rounds,
        evals=evals,
        early_stopping_rounds=stopping,
        verbose_eval=False,
    )
    if valid is not None:
        kept = booster.best_iteration + 1
        booster = booster[:kept]
    else:
        kept = rounds
    return booster, kept


def _fit_lightgbm(
    params: dict[str, Any], train: Matrices, valid: Matrices | None, rounds: int, seed: int, threads: int
) -> tuple[Any, int]:
    import lightgbm as lgb

    full = _lgb_params(params, seed, threads)
    dtrain = lgb.Dataset(train.x, label=train.y, feature_name=list(FEATURES), free_raw_data=False)
    callbacks: list[Any] = []
    valid_sets: list[Any] = []
    if valid is not None:
        valid_sets = [lgb.Dataset(valid.x, label=valid.y, weight=valid.weight, reference=dtrain)]
        callbacks = [lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)]
    booster = lgb.train(full, dtrain, num_boost_round=rounds, valid_sets=valid_sets, callbacks=callbacks)
    kept = booster.best_iteration if valid is not None and booster.best_iteration > 0 else booster.current_iteration()
    if kept != booster.current_iteration():
        booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=kept))
    return booster, kept


def predict(family: Family, booster: Any, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Fraud probabilities exactly as ``ModelBundle.predict_proba`` computes them."""
    if family == "xgboost":
        return np.asarray(booster.inplace_predict(x), dtype=np.float32)
    return np.asarray(booster.predict(x, num_threads=1), dtype=np.float32)


def feature_importance(family: Family, booster: Any) -> dict[str, float]:
    """Total gain per contract feature (zero for features never split on)."""
    if family == "xgboost":
        scores = booster.get_score(importance_type="total_gain")
        return {name: float(scores.get(name, 0.0)) for name in FEATURES}
    gains = booster.feature_importance(importance_type="gain")
    return {name: float(g) for name, g in zip(FEATURES, gains, strict=True)}
