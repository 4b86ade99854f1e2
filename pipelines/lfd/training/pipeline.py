"""End to end: load → split → tune each family → threshold → evaluate → refit → bundle → MLflow → registry.

Each step is its own module; this one only wires them, keeps the clock, and collects a report.
The winner is chosen on *validation* PR-AUC (weighted), so the test rows judge it without having
picked it. Then (``refit_on_all_rows``, the default) each family is refit on train + test with the
same hyper-parameters and rounds: the bundle carries that model, the metrics stay the held-out ones.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from lfd.contract import AMOUNT_FIELD, LABEL_FIELD, LEGIT_WEIGHT
from lfd.model_bundle import BundleMetadata, ModelBundle
from lfd.training import families, plots
from lfd.training.data import fingerprint, load_labelled, require_both_classes
from lfd.training.defaults import DEFAULT_DATA, DEFAULT_MIN_VALIDATION_PR_AUC, DEFAULT_TIME_BUDGET
from lfd.training.evaluate import Metrics, evaluate
from lfd.training.families import FAMILIES, Family
from lfd.training.refit import all_labelled_rows, refit
from lfd.training.register import EXPERIMENT, MODEL_NAME, build_bundle, reference_sample
from lfd.training.split import DEFAULT_TEST_FRACTION, Split, SplitMethod, split
from lfd.training.threshold import CostModel, choose_threshold, cost_by_threshold
from lfd.training.tune import TuneConfig, Tuned, tune


@dataclass(frozen=True)
class TrainConfig:
    data: Path = DEFAULT_DATA
    time_budget: float = DEFAULT_TIME_BUDGET
    families: tuple[Family, ...] = FAMILIES
    split_method: SplitMethod = "time"
    test_fraction: float = DEFAULT_TEST_FRACTION
    seed: int = 0
    costs: CostModel = field(default_factory=CostModel)
    tracking_uri: str | None = None  # None: do not log to MLflow (and do not register)
    register: bool = True
    #: Registration gate: the winner's weighted validation PR-AUC must reach this (catches broken training).
    min_validation_pr_auc: float = DEFAULT_MIN_VALIDATION_PR_AUC
    model_name: str = MODEL_NAME
    experiment: str = EXPERIMENT
    max_trials: int | None = None
    threads: int = 1
    use_time: bool = False
    #: After evaluation, fit the bundled model on every labelled row (train + test); metrics stay held-out.
    refit_on_all_rows: bool = True
    output_dir: Path | None = None
    show_progress: bool = True


@dataclass
class FamilyResult:
    family: Family
    tuned: Tuned
    metrics: Metrics
    bundle_dir: Path
    test_scores: npt.NDArray[np.float32]  # the evaluated model (never saw the test rows): the metrics
    #: The bundled model's scores on the test rows: equal to ``test_scores`` unless refit on all rows.
    served_test_scores: npt.NDArray[np.float32]
    plots: list[Path] = field(default_factory=list)
    run_id: str | None = None
    model_uri: str | None = None


@dataclass
class TrainingReport:
    split: Split
    results: list[FamilyResult]
    winner: Family
    fingerprint: str  # rows the bundled model was fit on (train + test when refit on all rows)
    evaluation_fingerprint: str  # rows the evaluated model was fit on (the training part)
    seconds: float = 0.0
    registered_version: str | None = None
    parent_run_id: str | None = None
    registration_refused: str | None = None

    def result(self, family: Family) -> FamilyResult:
        return next(r for r in self.results if r.family == family)

    def table(self) -> str:
        """Markdown comparison table of the test-split metrics."""
        rows = [
            "| metric (test split) | " + " | ".join(r.family for r in self.results) + " |",
            "|---|" + "---|" * len(self.results),
        ]
        for name in Metrics.__dataclass_fields__:
            rows.append(f"| {name} | " + " | ".join(f"{r.metrics.as_dict()[name]:.4f}" for r in self.results) + " |")
        rows.append(
            "| validation PR-AUC (weighted) | "
            + " | ".join(f"{r.tuned.validation_pr_auc:.4f}" for r in self.results)
            + " |"
        )
        rows.append("| Optuna trials | " + " | ".join(str(r.tuned.n_trials) for r in self.results) + " |")
        return "\n".join(rows)


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
    winner = max(results, key=lambda r: r.tuned.validation_pr_auc).family
    report = TrainingReport(
        split=parts,
        results=results,
        winner=winner,
        fingerprint=fingerprint(served_rows),
        evaluation_fingerprint=fingerprint(parts.train),
    )
    _comparison_plots(report, out)
    if config.tracking_uri is not None:
        from lfd.training.tracking import log_and_register

        log_and_register(report, config, out)
    report.seconds = time.monotonic() - started
    return report


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
