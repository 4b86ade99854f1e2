"""End to end: load → split → tune each family → threshold → evaluate → refit → bundle → MLflow → registry.

Each step is its own module; this one only wires them, keeps the clock, and collects a report.
The winner is chosen on *validation* PR-AUC (weighted), so the test rows judge it without having
picked it: under the default ``robust`` rule the preferred family (``families.PREFERRED_FAMILY``)
unless the other beats it on every fold by more than the fold spread (``lfd.training.selection``). Then (``refit_on_all_rows``, the default) each family is refit on train + test with the
same hyper-parameters and rounds: the bundle carries that model, the metrics stay the held-out ones.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from lfd.contract import AMOUNT_FIELD, LABEL_FIELD, LEGIT_WEIGHT
from lfd.model_bundle import BundleMetadata, ModelBundle
from lfd.training import families, plots
from lfd.training.data import fingerprint, load_labelled, require_both_classes
from lfd.training.evaluate import evaluate
from lfd.training.families import Family
from lfd.training.refit import all_labelled_rows, refit
from lfd.training.register import build_bundle, reference_sample
from lfd.training.report import FamilyResult, TrainConfig, TrainingReport
from lfd.training.selection import SelectionRule, select_family
from lfd.training.split import Split, split
from lfd.training.threshold import CostModel, choose_threshold, cost_by_threshold
from lfd.training.tune import TuneConfig, tune


def run(config: TrainConfig) -> TrainingReport:
    started = time.monotonic()
    frame = load_labelled(config.data)
    parts = split(frame, config.split_method, config.test_fraction, config.seed)
    require_both_classes(parts.train, "training split")
    require_both_classes(parts.test, "test split")
    out = config.output_dir or Path(tempfile.mkdtemp(prefix="lfd-train-"))
    served_rows = all_labelled_rows(parts) if config.refit_on_all_rows else parts.train
    budget = config.time_budget / len(config.families)
    results = [_train_family(f, parts, served_rows, config, budget, out / f) for f in config.families]
    winner, why = choose_winner(results, config.selection)
    report = TrainingReport(
        split=parts,
        results=results,
        winner=winner,
        winner_reason=why,
        fingerprint=fingerprint(served_rows),
        evaluation_fingerprint=fingerprint(parts.train),
    )
    _comparison_plots(report, out)
    if config.tracking_uri is not None:
        from lfd.training.tracking import log_and_register

        log_and_register(report, config, out)
    report.seconds = time.monotonic() - started
    return report


def choose_winner(results: list[FamilyResult], rule: SelectionRule) -> tuple[Family, str]:
    """The family to register and why: ``select_family`` over each family's kept trial's per-fold scores."""
    choice = select_family(
        {r.family: r.tuned.selection.fold_scores if r.tuned.selection else () for r in results},
        families.PREFERRED_FAMILY,
        rule,
    )
    return next(r.family for r in results if r.family == choice.family), choice.reason


def _train_family(
    family: Family, parts: Split, served_rows: pd.DataFrame, config: TrainConfig, budget: float, out: Path
) -> FamilyResult:
    tune_config = TuneConfig(
        time_budget=budget,
        seed=config.seed,
        max_trials=config.max_trials,
        threads=config.threads,
        split_method=config.split_method,
        use_time=config.use_time,
        show_progress=config.show_progress,
        folds=config.folds,
        selection=config.selection,
    )
    tuned = tune(family, parts.train, tune_config)
    threshold = choose_threshold(
        tuned.validation_y, tuned.validation_scores, tuned.validation_amount, config.costs, LEGIT_WEIGHT
    ).threshold
    y_test = parts.test[LABEL_FIELD].to_numpy()
    amount_test = parts.test[AMOUNT_FIELD].to_numpy()
    # Score the test rows through the bundle: exactly the serving path.
    scores = ModelBundle(tuned.booster, BundleMetadata(flavor=family, threshold=threshold)).predict_proba(parts.test)
    metrics = evaluate(y_test, scores, amount_test, threshold, config.costs)
    served = tuned.booster
    if config.refit_on_all_rows:
        served = refit(
            family,
            tuned.params,
            tuned.rounds,
            served_rows,
            seed=config.seed,
            threads=config.threads,
            use_time=config.use_time,
        )
    metadata = BundleMetadata(
        flavor=family,
        threshold=threshold,
        training_fingerprint=fingerprint(served_rows),
        metrics={**metrics.as_dict(), "validation_pr_auc_weighted": tuned.validation_pr_auc},
        params={
            **tuned.params,
            "num_boost_round": tuned.rounds,
            "use_time": config.use_time,
            "split": config.split_method,
            "test_fraction": config.test_fraction,
            "seed": config.seed,
            "refit_on_all_rows": config.refit_on_all_rows,
            "fit_rows": len(served_rows),
            "metrics_measured_on": f"held-out {config.split_method} test split, before any refit",
        },
        cost_model=config.costs.as_dict(),
    )
    bundle_dir = out / "bundle"
    bundle = build_bundle(served, metadata, reference_sample(served_rows, config.seed), bundle_dir)
    result = FamilyResult(family, tuned, metrics, bundle_dir, scores, bundle.predict_proba(parts.test))
    result.plots = _family_plots(result, parts.test, config.costs, out / "plots")
    return result


def _family_plots(result: FamilyResult, test: pd.DataFrame, costs: CostModel, out: Path) -> list[Path]:
    y, s, threshold = test[LABEL_FIELD].to_numpy(), result.test_scores, result.metrics.threshold
    curve = cost_by_threshold(y, s, test[AMOUNT_FIELD].to_numpy(), costs, LEGIT_WEIGHT)
    return [
        plots.pr_curve(y, {result.family: s}, out / "pr_curve.png"),
        plots.roc(y, {result.family: s}, out / "roc.png"),
        plots.confusion(y, s, threshold, out / "confusion_matrix.png"),
        plots.feature_importance(
            families.feature_importance(result.family, result.tuned.booster), out / "feature_importance.png"
        ),
        plots.score_distribution(y, s, threshold, out / "score_distribution.png"),
        plots.cost_curve(y, s, curve, threshold, out / "cost_by_threshold.png"),
    ]


def _comparison_plots(report: TrainingReport, out: Path) -> None:
    y = report.split.test[LABEL_FIELD].to_numpy()
    scores: dict[str, npt.NDArray[np.float32]] = {str(r.family): r.test_scores for r in report.results}
    plots.pr_curve(y, scores, out / "comparison" / "pr_curve.png")
    plots.roc(y, scores, out / "comparison" / "roc.png")
