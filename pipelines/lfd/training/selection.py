"""Which Optuna trial, and which model family, to keep: rules that do not chase noise (pure).

With ~100 validation frauds, the trial with the best mean validation PR-AUC is usually the one
whose noise happened to line up with the folds; on later rows it does worse than the untuned
defaults (measured: 0.816 ± 0.079 vs 0.846 ± 0.033 over 5 stratified seeds, docs/training.md).

``robust`` keeps the default parameters (trial 0, always enqueued first) unless the best trial beats
them by more than the fold spread: on the same folds (paired), the mean per-fold gain must exceed the
sample standard deviation of the per-fold gains. A gain that some folds do not share is noise.
``best`` is the old rule (highest mean), kept to measure the difference.

The family choice (XGBoost vs LightGBM) follows the same principle: under ``robust`` a preferred
family is kept unless the other family's kept trial beats it on the same folds by more than the
spread of the per-fold differences; under ``best`` the higher mean wins.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

SelectionRule = Literal["robust", "best"]
SELECTION_RULES: tuple[SelectionRule, ...] = ("robust", "best")
DEFAULT_TRIAL = 0


@dataclass(frozen=True)
class Selection:
    trial: int
    mean: float  # the chosen trial's mean validation score over the folds
    gain: float  # best trial's mean per-fold gain over the defaults (0 when the best is the default)
    spread: float  # sample sd of the best trial's per-fold gains (0 with fewer than two folds)
    reason: str
    #: The chosen trial's per-fold validation scores: the family choice compares these across families.
    fold_scores: tuple[float, ...] = ()


@dataclass(frozen=True)
class FamilyChoice:
    family: str
    gain: float  # the challenger family's mean per-fold gain over the preferred one (0 if none)
    spread: float  # sample sd of those per-fold gains
    reason: str


def select_trial(fold_scores: Mapping[int, Sequence[float]], rule: SelectionRule = "robust") -> Selection:
    """Choose among completed trials, given each trial's per-fold validation scores (same folds for all).

    Trial ``DEFAULT_TRIAL`` holds the default parameters; without it the rule falls back to ``best``.
    """
    if not fold_scores:
        raise ValueError("no completed trial to select from")
    _require_same_folds(fold_scores.values(), "trial")
    _require_rule(rule)
    best = max(sorted(fold_scores), key=lambda t: statistics.fmean(fold_scores[t]))
    best_mean = statistics.fmean(fold_scores[best])
    best_folds = tuple(fold_scores[best])
    if rule == "best" or DEFAULT_TRIAL not in fold_scores:
        return Selection(best, best_mean, 0.0, 0.0, f"trial {best}: highest mean validation score", best_folds)
    default = fold_scores[DEFAULT_TRIAL]
    gain, spread = paired_gain(fold_scores[best], default)
    if best != DEFAULT_TRIAL and gain > spread:
        return Selection(
            best,
            best_mean,
            gain,
            spread,
            f"trial {best} beats the defaults by {gain:.4f} > spread {spread:.4f}",
            best_folds,
        )
    return Selection(
        DEFAULT_TRIAL,
        statistics.fmean(default),
        gain,
        spread,
        f"defaults kept: best trial {best} gains {gain:.4f}, not more than the fold spread {spread:.4f}",
        tuple(default),
    )


def select_family(
    fold_scores: Mapping[str, Sequence[float]], preferred: str, rule: SelectionRule = "robust"
) -> FamilyChoice:
    """Choose the family to register, given each family's kept trial's per-fold scores (same folds for all).

    ``robust``: ``preferred`` unless the best other family's mean per-fold gain over it exceeds the
    sample sd of those gains. ``best`` (or ``preferred`` absent): the highest mean, ties to the first
    name in sorted order.
    """
    if not fold_scores:
        raise ValueError("no family to select from")
    _require_same_folds(fold_scores.values(), "family")
    _require_rule(rule)
    best = max(sorted(fold_scores), key=lambda f: statistics.fmean(fold_scores[f]))
    if rule == "best" or preferred not in fold_scores:
        return FamilyChoice(best, 0.0, 0.0, f"{best}: highest mean validation score")
    others = {f: s for f, s in fold_scores.items() if f != preferred}
    if not others:
        return FamilyChoice(preferred, 0.0, 0.0, f"{preferred}: the only family trained")
    challenger = max(sorted(others), key=lambda f: statistics.fmean(others[f]))
    gain, spread = paired_gain(others[challenger], fold_scores[preferred])
    if gain > spread:
        return FamilyChoice(
            challenger, gain, spread, f"{challenger} beats {preferred} by {gain:.4f} > fold spread {spread:.4f}"
        )
    return FamilyChoice(
        preferred,
        gain,
        spread,
        f"{preferred} kept (preferred): {challenger} gains {gain:.4f}, not more than the fold spread {spread:.4f}",
    )


def paired_gain(candidate: Sequence[float], reference: Sequence[float]) -> tuple[float, float]:
    """Mean and sample sd of the per-fold gains of ``candidate`` over ``reference`` (sd 0 with one fold)."""
    gains = [c - r for c, r in zip(candidate, reference, strict=True)]
    return statistics.fmean(gains), statistics.stdev(gains) if len(gains) > 1 else 0.0


def _require_same_folds(fold_scores: Iterable[Sequence[float]], what: str) -> None:
    lengths = {len(v) for v in fold_scores}
    if len(lengths) != 1 or 0 in lengths:
        raise ValueError(f"every {what} needs one score per fold (same folds for all), got fold counts {lengths}")


def _require_rule(rule: str) -> None:
    if rule not in SELECTION_RULES:
        raise ValueError(f"selection rule must be one of {', '.join(SELECTION_RULES)}, got {rule!r}")
