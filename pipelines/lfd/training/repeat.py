"""Repeat the held-out evaluation over several seeds: how much of a metric is the split, how much the model.

With ~68 test frauds one split's PR-AUC moves by several points from one random draw to the next,
so a single figure says little. This runs the pipeline (no MLflow, no refit: only held-out scores
matter here) once per seed and reports each family's mean and sample standard deviation::

    python -m lfd.training.repeat --split stratified --seeds 0 1 2 3 4
    python -m lfd.training.repeat --split time --seeds 0 1 2 --time-budget 200

For the time split the rows are the same every time; the seed changes only Optuna and the boosters.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lfd.training.defaults import DEFAULT_DATA, DEFAULT_TIME_BUDGET
from lfd.training.selection import SelectionRule, select_family

#: Metrics summarised (names of ``lfd.training.evaluate.Metrics`` fields, plus the validation score).
SUMMARISED = ("pr_auc_weighted", "recall_at_fpr_0_1pct", "pr_auc_unweighted", "validation_pr_auc_weighted")


#: The family choices compared by ``--compare-rules``: (trial rule, family rule) per label. "best" is
#: the old pipeline, "robust trials" the previous session's (robust trials, family by higher mean),
#: "robust" today's (robust trials, preferred family unless beaten by more than the fold spread).
WINNER_RULES: dict[str, tuple[SelectionRule, SelectionRule]] = {
    "best": ("best", "best"),
    "robust trials, family by mean": ("robust", "best"),
    "robust": ("robust", "robust"),
}


@dataclass(frozen=True)
class Candidate:
    """One family's kept trial under one trial rule, for one seed."""

    family: str
    validation: float  # mean validation score over the folds
    held_out: float  # weighted PR-AUC on the held-out rows
    fold_scores: tuple[float, ...]


def choose_family(candidates: Sequence[Candidate], rule: SelectionRule) -> tuple[Candidate, str]:
    """The pipeline's family choice (``select_family`` with the preferred family) over candidates (pure)."""
    from lfd.training.families import PREFERRED_FAMILY

    choice = select_family({c.family: c.fold_scores for c in candidates}, PREFERRED_FAMILY, rule)
    return next(c for c in candidates if c.family == choice.family), choice.reason


@dataclass(frozen=True)
class SeedResult:
    seed: int
    family: str
    metrics: dict[str, float]
    winner: bool


def summarise(results: Sequence[SeedResult], metrics: Sequence[str] = SUMMARISED) -> str:
    """A markdown table: per family (and for the per-seed winner), each metric as mean ± sd over seeds (pure)."""
    groups: dict[str, list[SeedResult]] = {}
    for result in results:
        groups.setdefault(result.family, []).append(result)
        if result.winner:
            groups.setdefault("winner", []).append(result)
    lines = ["| model | seeds | " + " | ".join(metrics) + " |", "|---|---|" + "---|" * len(metrics)]
    for name, rows in groups.items():
        cells = [_mean_sd([r.metrics[m] for r in rows]) for m in metrics]
        lines.append(f"| {name} | {len(rows)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _mean_sd(values: Sequence[float]) -> str:
    mean = statistics.fmean(values)
    return f"{mean:.3f} ± {statistics.stdev(values):.3f}" if len(values) > 1 else f"{mean:.3f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lfd.training.repeat", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--split", choices=("time", "stratified"), default="stratified")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--time-budget", type=float, default=DEFAULT_TIME_BUDGET, help="seconds per run")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--folds", type=int, default=4, help="validation folds (the old rule used 2)")
    parser.add_argument("--selection", choices=("robust", "best"), default="robust", help="trial selection rule")
    parser.add_argument("--trials", type=int, default=None, help="cap trials per family")
    parser.add_argument(
        "--compare-rules",
        action="store_true",
        help="one search per family and seed, read under both selection rules (best, robust): a paired "
        "comparison of the rules on the same trials and held-out rows (held-out weighted PR-AUC only)",
    )
    args = parser.parse_args(argv)
    if args.compare_rules:
        return _compare_rules(args)

    from lfd.training.pipeline import run
    from lfd.training.report import TrainConfig

    results: list[SeedResult] = []
    for seed in args.seeds:
        config = TrainConfig(
            data=args.data,
            time_budget=args.time_budget,
            split_method=args.split,
            seed=seed,
            threads=args.threads,
            tracking_uri=None,
            refit_on_all_rows=False,
            show_progress=False,
            folds=args.folds,
            selection=args.selection,
            max_trials=args.trials,
        )
        report = run(config)
        for r in report.results:
            metrics = {**r.metrics.as_dict(), "validation_pr_auc_weighted": r.tuned.validation_pr_auc}
            results.append(SeedResult(seed, r.family, metrics, r.family == report.winner))
            kept = r.tuned.selection.reason if r.tuned.selection else ""
            print(
                f"seed {seed} {r.family}: " + ", ".join(f"{m} {metrics[m]:.4f}" for m in SUMMARISED) + f" ({kept})",
                flush=True,
            )
    print(
        f"\n{args.split} split, {args.time_budget:g} s budget per run, {args.folds} folds, "
        f"selection {args.selection}, seeds {args.seeds}:\n"
    )
    print(summarise(results))
    return 0


def _compare_rules(args: argparse.Namespace) -> int:
    from lfd.contract import LABEL_FIELD, LEGIT_WEIGHT
    from lfd.training import families
    from lfd.training.data import load_labelled
    from lfd.training.evaluate import pr_auc
    from lfd.training.split import split
    from lfd.training.tune import TuneConfig, tune_rules

    frame = load_labelled(args.data)
    results: list[SeedResult] = []
    for seed in args.seeds:
        parts = split(frame, args.split, 0.2, seed)
        test_x, test_y = families.matrices(parts.test).x, parts.test[LABEL_FIELD].to_numpy()
        config = TuneConfig(
            time_budget=args.time_budget / len(families.FAMILIES),
            seed=seed,
            max_trials=args.trials,
            threads=args.threads,
            split_method=args.split,
            show_progress=False,
            folds=args.folds,
        )
        by_rule: dict[SelectionRule, list[Candidate]] = {}
        for family in families.FAMILIES:
            for rule, tuned in tune_rules(family, parts.train, config, ("best", "robust")).items():
                held_out = pr_auc(test_y, families.predict(family, tuned.booster, test_x), LEGIT_WEIGHT)
                folds = tuned.selection.fold_scores if tuned.selection else ()
                by_rule.setdefault(rule, []).append(Candidate(family, tuned.validation_pr_auc, held_out, folds))
                print(
                    f"seed {seed} {family} {rule}: held-out {held_out:.4f}, folds "
                    + " ".join(f"{v:.4f}" for v in folds)
                    + f" ({tuned.selection and tuned.selection.reason})",
                    flush=True,
                )
        for rule_name, rows in by_rule.items():
            for row in rows:
                metrics = {"pr_auc_weighted": row.held_out, "validation_pr_auc_weighted": row.validation}
                results.append(SeedResult(seed, f"{row.family} ({rule_name})", metrics, False))
        for label, (trials, family_rule) in WINNER_RULES.items():
            winner, why = choose_family(by_rule[trials], family_rule)
            metrics = {"pr_auc_weighted": winner.held_out, "validation_pr_auc_weighted": winner.validation}
            results.append(SeedResult(seed, f"winner ({label})", metrics, False))
            print(f"seed {seed} winner ({label}): {winner.family}, held-out {winner.held_out:.4f} ({why})", flush=True)
    print(
        f"\n{args.split} split, {args.folds} folds, trials {args.trials}, seeds {args.seeds}, same trials per rule:\n"
    )
    print(summarise(results, ("pr_auc_weighted", "validation_pr_auc_weighted")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
