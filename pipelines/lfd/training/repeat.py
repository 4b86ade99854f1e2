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

#: Metrics summarised (names of ``lfd.training.evaluate.Metrics`` fields, plus the validation score).
SUMMARISED = ("pr_auc_weighted", "recall_at_fpr_0_1pct", "pr_auc_unweighted", "validation_pr_auc_weighted")


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
    args = parser.parse_args(argv)

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


if __name__ == "__main__":
    raise SystemExit(main())
