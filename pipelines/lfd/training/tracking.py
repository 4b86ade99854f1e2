"""Record a training report in MLflow: a parent run for the comparison, a nested run per family,
and (unless told not to) the winner registered as ``fraud-detector@challenger``.

With ``refit_on_all_rows`` the logged model was refit on train + test after evaluation; every run
and the registered version say so (tag ``lfd.refit_on_all_rows=true``, param ``refit_on_all_rows``),
and the metrics are those of the held-out test rows, measured before the refit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lfd.training.register import log_family_run, register_challenger, registration_gate
from lfd.training.report import TrainConfig, TrainingReport
from lfd.training.tune import Tuned


def run_tags(report: TrainingReport, config: TrainConfig) -> dict[str, str]:
    """Tags on the parent and every family run: what the logged model learnt from, what the metrics mean."""
    return {
        "lfd.training_fingerprint": report.fingerprint,
        "lfd.evaluation_fingerprint": report.evaluation_fingerprint,
        "lfd.split": config.split_method,
        "lfd.refit_on_all_rows": str(config.refit_on_all_rows).lower(),
        "lfd.metrics": "held-out test split, measured before any refit",
    }


def parent_params(config: TrainConfig) -> dict[str, Any]:
    return {
        "split": config.split_method,
        "test_fraction": config.test_fraction,
        "seed": config.seed,
        "time_budget_s": config.time_budget,
        "data": str(config.data),
        "use_time": config.use_time,
        "refit_on_all_rows": config.refit_on_all_rows,
        "validation_folds": config.folds,
        "selection_rule": config.selection,
        **{f"cost_{k}": v for k, v in config.costs.as_dict().items()},
    }


def log_and_register(report: TrainingReport, config: TrainConfig, out: Path) -> None:
    import mlflow

    from lfd.contract import FEATURES

    if config.tracking_uri is not None:
        mlflow.set_tracking_uri(config.tracking_uri)
    mlflow.set_experiment(config.experiment)
    example = report.split.test[list(FEATURES)].head(5).reset_index(drop=True)
    tags = run_tags(report, config)
    with mlflow.start_run(run_name="comparison", tags=tags) as parent:
        report.parent_run_id = parent.info.run_id
        mlflow.log_params(parent_params(config))
        for path in sorted((out / "comparison").glob("*.png")):
            mlflow.log_artifact(str(path), artifact_path="plots")
        for result in report.results:
            logged = log_family_run(
                result.family,
                {
                    **result.tuned.params,
                    "num_boost_round": result.tuned.rounds,
                    "refit_on_all_rows": config.refit_on_all_rows,
                },
                {
                    **result.metrics.as_dict(),
                    "validation_pr_auc_weighted": result.tuned.validation_pr_auc,
                    "optuna_trials": float(result.tuned.n_trials),
                    "tune_seconds": result.tuned.seconds,
                    **_selection_metrics(result.tuned),
                },
                result.plots,
                result.bundle_dir,
                example,
                tags,
            )
            result.run_id, result.model_uri = logged.run_id, logged.model_uri
        mlflow.set_tag("lfd.winner", report.winner)
        mlflow.set_tag("lfd.winner_reason", report.winner_reason)
        _register_winner(report, config)


def _register_winner(report: TrainingReport, config: TrainConfig) -> None:
    """Inside the parent run: gate, then register the winner's logged model as @challenger."""
    import mlflow

    winner = report.result(report.winner)
    report.registration_refused = registration_gate(winner.tuned.validation_pr_auc, config.min_validation_pr_auc)
    if report.registration_refused:
        mlflow.set_tag("lfd.registration_refused", report.registration_refused)
    elif config.register and winner.model_uri is not None:
        report.registered_version = register_challenger(
            winner.model_uri,
            config.model_name,
            tags={
                "flavor": winner.family,
                "threshold": f"{winner.metrics.threshold:.6f}",
                "pr_auc_weighted": f"{winner.metrics.pr_auc_weighted:.4f}",
                "training_fingerprint": report.fingerprint,
                "refit_on_all_rows": str(config.refit_on_all_rows).lower(),
                "run_id": winner.run_id or "",
            },
        )
        mlflow.set_tag("lfd.registered_version", report.registered_version)


def _selection_metrics(tuned: Tuned) -> dict[str, float]:
    chosen = tuned.selection
    if chosen is None:
        return {}
    return {
        "selected_trial": float(chosen.trial),
        "selection_gain": chosen.gain,
        "selection_fold_spread": chosen.spread,
    }
