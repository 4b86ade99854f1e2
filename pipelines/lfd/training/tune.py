"""Tune one model family with Optuna inside a time budget, then refit on all training rows.

Validation follows the outer split method. For the time split it is two expanding-window folds of
the training rows (fit on 0-60% → validate 60-80%, fit on 0-80% → validate 80-100%), so the search
is judged the way the model is used and on about twice as many frauds as one fold would give. The
objective is the mean validation PR-AUC with legitimate rows weighted to the real stream (the
headline metric). The best trial's out-of-fold scores are kept: the cost-based threshold is chosen
on them, never on the test rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import optuna
import pandas as pd
from tqdm.auto import tqdm

from lfd.contract import AMOUNT_FIELD, LEGIT_WEIGHT
from lfd.training import families
from lfd.training.evaluate import pr_auc
from lfd.training.families import Family, Matrices
from lfd.training.split import SplitMethod, split

VALIDATION_FRACTION = 0.2


@dataclass(frozen=True)
class TuneConfig:
    time_budget: float  # seconds for this family's search (the refit comes on top, a few seconds)
    seed: int = 0
    max_trials: int | None = None  # cap; with a cap and a generous budget runs are reproducible
    threads: int = 1
    split_method: SplitMethod = "time"
    use_time: bool = False
    show_progress: bool = True


@dataclass(frozen=True)
class Fold:
    fit: Matrices
    valid: Matrices
    valid_amount: npt.NDArray[np.float64]


@dataclass
class Tuned:
    family: Family
    booster: Any  # refit on all training rows
    params: dict[str, Any]
    rounds: int
    validation_pr_auc: float
    n_trials: int
    seconds: float
    validation_y: npt.NDArray[np.int8] = field(repr=False)
    validation_scores: npt.NDArray[np.float32] = field(repr=False)
    validation_amount: npt.NDArray[np.float64] = field(repr=False)


@dataclass
class _Best:
    value: float = -np.inf
    rounds: int = 0
    scores: list[npt.NDArray[np.float32]] = field(default_factory=list)


def validation_folds(train: pd.DataFrame, config: TuneConfig) -> list[Fold]:
    """Two validation folds: expanding windows in time, or two seeded stratified draws."""
    if config.split_method == "time":
        late = split(train, "time", VALIDATION_FRACTION)
        early = split(late.train, "time", VALIDATION_FRACTION / (1.0 - VALIDATION_FRACTION))
        parts = [early, late]
    else:
        parts = [split(train, "stratified", VALIDATION_FRACTION, config.seed + k) for k in range(2)]
    return [
        Fold(
            families.matrices(p.train, config.use_time),
            families.matrices(p.test, config.use_time),
            p.test[AMOUNT_FIELD].to_numpy(dtype=np.float64),
        )
        for p in parts
    ]


def tune(family: Family, train: pd.DataFrame, config: TuneConfig) -> Tuned:
    started = time.monotonic()
    folds = validation_folds(train, config)
    best = _Best()

    deadline = started + config.time_budget

    def objective(trial: optuna.Trial) -> float:
        params = families.suggest_params(family, trial)
        values, rounds, scores = [], [], []
        for fold in folds:
            if trial.number > 0 and time.monotonic() > deadline:
                raise optuna.TrialPruned("time budget spent")  # bounds the overshoot to one fit
            booster, kept = families.fit(
                family, params, fold.fit, fold.valid, families.MAX_ROUNDS, config.seed, config.threads
            )
            scores.append(families.predict(family, booster, fold.valid.x))
            values.append(pr_auc(fold.valid.y, scores[-1], LEGIT_WEIGHT))
            rounds.append(kept)
        value = float(np.mean(values))
        trial.set_user_attr("rounds", rounds)
        if value > best.value:
            best.value, best.rounds, best.scores = value, round(np.mean(rounds)), scores
        return value

    study = _run_study(family, objective, config)
    full = families.matrices(train, config.use_time)
    booster, _ = families.fit(
        family, dict(study.best_trial.params), full, None, best.rounds, config.seed, config.threads
    )
    return Tuned(
        family=family,
        booster=booster,
        params=dict(study.best_trial.params),
        rounds=best.rounds,
        validation_pr_auc=best.value,
        n_trials=_completed(study),
        seconds=time.monotonic() - started,
        validation_y=np.concatenate([f.valid.y for f in folds]),
        validation_scores=np.concatenate(best.scores),
        validation_amount=np.concatenate([f.valid_amount for f in folds]),
    )


def _run_study(family: Family, objective: Any, config: TuneConfig) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize", study_name=f"lfd-{family}", sampler=optuna.samplers.TPESampler(seed=config.seed)
    )
    study.enqueue_trial(families.default_params(family))
    started = time.monotonic()
    with tqdm(
        total=round(config.time_budget),
        unit="s",
        desc=f"tuning {family}",
        disable=not config.show_progress,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total_fmt}s {postfix}",
    ) as bar:

        def report(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            bar.n = min(time.monotonic() - started, config.time_budget)
            bar.set_postfix_str(f"trials={len(study.trials)} best weighted PR-AUC={study.best_value:.4f}")

        study.optimize(objective, n_trials=config.max_trials, timeout=config.time_budget, callbacks=[report])
    return study


def _completed(study: optuna.Study) -> int:
    return sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
