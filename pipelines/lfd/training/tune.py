"""Tune one model family with Optuna inside a time budget, then refit on all training rows.

Validation follows the outer split method. For the time split it is ``folds`` expanding-window
folds over the latest 40% of the training rows (4 folds: fit on 0-60% → validate 60-70%, ..., fit on
0-90% → validate 90-100%; 2 folds: 60-80% and 80-100%), so the search is judged the way the model is
used; for the stratified split, ``folds`` seeded stratified draws of 20%. The objective is the mean
validation PR-AUC with legitimate rows weighted to the real stream (the headline metric). Which
trial is kept is ``lfd.training.selection``'s rule (default ``robust``: the defaults unless a trial
beats them by more than the fold spread). The kept trial's out-of-fold scores are returned: the
cost-based threshold is chosen on them, never on the test rows.
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

from lfd.contract import AMOUNT_FIELD, LEGIT_WEIGHT, TIME_FIELD
from lfd.training import families
from lfd.training.evaluate import pr_auc
from lfd.training.families import Family, Matrices
from lfd.training.selection import Selection, SelectionRule, select_trial
from lfd.training.split import SplitMethod, split

VALIDATION_FRACTION = 0.2
#: Share of the training rows (the latest, by time) that the time-series folds validate on.
TIME_VALIDATION_SPAN = 0.4
DEFAULT_FOLDS = 4


@dataclass(frozen=True)
class TuneConfig:
    time_budget: float  # seconds for this family's search (the refit comes on top, a few seconds)
    seed: int = 0
    max_trials: int | None = None  # cap; with a cap and a generous budget runs are reproducible
    threads: int = 1
    split_method: SplitMethod = "time"
    use_time: bool = False
    show_progress: bool = True
    folds: int = DEFAULT_FOLDS
    selection: SelectionRule = "robust"


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
    selection: Selection | None = None


def validation_folds(train: pd.DataFrame, config: TuneConfig) -> list[Fold]:
    """``config.folds`` validation folds: expanding windows in time, or seeded stratified draws."""
    if config.folds < 2:
        raise ValueError(f"folds must be at least 2 (the selection rule needs a spread), got {config.folds}")
    if config.split_method == "time":
        parts = [_time_fold(train, k, config.folds) for k in range(config.folds)]
    else:
        parts = [
            (s.train, s.test)
            for s in (split(train, "stratified", VALIDATION_FRACTION, config.seed + k) for k in range(config.folds))
        ]
    return [
        Fold(
            families.matrices(fit, config.use_time),
            families.matrices(valid, config.use_time),
            valid[AMOUNT_FIELD].to_numpy(dtype=np.float64),
        )
        for fit, valid in parts
    ]


def _time_fold(train: pd.DataFrame, k: int, folds: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fold ``k``: fit on every row before block ``k`` of the latest span, validate on the block."""
    start = 1.0 - TIME_VALIDATION_SPAN + TIME_VALIDATION_SPAN * k / folds
    end = 1.0 - TIME_VALIDATION_SPAN + TIME_VALIDATION_SPAN * (k + 1) / folds
    before = split(train, "time", 1.0 - start)
    if k == folds - 1:
        return before.train, before.test
    upto = split(train, "time", 1.0 - end)
    block = before.test[before.test[TIME_FIELD] < upto.test[TIME_FIELD].min()]
    return before.train, block


def tune(family: Family, train: pd.DataFrame, config: TuneConfig) -> Tuned:
    return tune_rules(family, train, config, (config.selection,))[config.selection]


def tune_rules(
    family: Family, train: pd.DataFrame, config: TuneConfig, rules: tuple[SelectionRule, ...]
) -> dict[SelectionRule, Tuned]:
    """One search, read under each selection rule (a paired comparison of the rules at the cost of one)."""
    started = time.monotonic()
    folds = validation_folds(train, config)
    # Out-of-fold scores per trial (a few MB for a few hundred trials): the threshold needs the kept one's.
    oof: dict[int, list[npt.NDArray[np.float32]]] = {}

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
        trial.set_user_attr("fold_values", [float(v) for v in values])
        oof[trial.number] = scores
        return value

    study = _run_study(family, objective, config)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    full = families.matrices(train, config.use_time)
    refits: dict[int, tuple[Any, int]] = {}
    results: dict[SelectionRule, Tuned] = {}
    for rule in rules:
        chosen = select_trial({t.number: t.user_attrs["fold_values"] for t in done}, rule)
        trial = next(t for t in done if t.number == chosen.trial)
        if chosen.trial not in refits:
            rounds = round(np.mean(trial.user_attrs["rounds"]))
            booster, _ = families.fit(family, dict(trial.params), full, None, rounds, config.seed, config.threads)
            refits[chosen.trial] = (booster, rounds)
        booster, rounds = refits[chosen.trial]
        results[rule] = Tuned(
            family=family,
            booster=booster,
            params=dict(trial.params),
            rounds=rounds,
            validation_pr_auc=chosen.mean,
            n_trials=len(done),
            seconds=time.monotonic() - started,
            validation_y=np.concatenate([f.valid.y for f in folds]),
            validation_scores=np.concatenate(oof[chosen.trial]),
            validation_amount=np.concatenate([f.valid_amount for f in folds]),
            selection=chosen,
        )
    return results


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
