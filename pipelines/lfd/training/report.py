"""What a training run is given and what it returns: ``TrainConfig`` in, ``TrainingReport`` out.

Its own module so that the steps that read a report (``tracking``) and the module that makes one
(``pipeline``) both import it instead of each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from lfd.constants import EXPERIMENT, MODEL_NAME
from lfd.training.defaults import DEFAULT_DATA, DEFAULT_MIN_VALIDATION_PR_AUC, DEFAULT_TIME_BUDGET
from lfd.training.evaluate import Metrics
from lfd.training.families import FAMILIES, Family
from lfd.training.selection import SelectionRule
from lfd.training.split import DEFAULT_TEST_FRACTION, Split, SplitMethod
from lfd.training.threshold import CostModel
from lfd.training.tune import DEFAULT_FOLDS, Tuned


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
    #: Validation folds inside the training part, and which trial to keep (``lfd.training.selection``).
    folds: int = DEFAULT_FOLDS
    selection: SelectionRule = "robust"


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
    winner_reason: str = ""  # why the family choice fell on the winner (``lfd.training.selection``)
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
