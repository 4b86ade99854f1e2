"""Drift and label-quality results into MLflow (adapter): experiment ``fraud-detector-monitoring``."""

from __future__ import annotations

import math

from lfd.drift.evidently_report import DriftRun
from lfd.drift.quality import Quality

EXPERIMENT = "fraud-detector-monitoring"


def log_drift(result: DriftRun, model_name: str, model_version: str) -> str:
    """One run per drift check: share, per-feature scores, the score shift and the HTML report."""
    import mlflow

    mlflow.set_experiment(EXPERIMENT)
    summary = result.summary
    with mlflow.start_run(run_name=f"drift {model_name} v{model_version}") as run:
        mlflow.set_tags({"lfd.kind": "drift", "lfd.model_name": model_name, "lfd.model_version": model_version})
        metrics = {"share_drifted_features": summary.share_drifted, "current_rows": float(summary.current_rows)}
        metrics |= {f"drift_{c.column}": c.score for c in summary.features}
        if summary.score is not None:
            metrics["score_distribution_shift"] = summary.score.score
        mlflow.log_metrics(metrics)
        mlflow.log_param("drifted_features", ",".join(summary.drifted_features)[:500] or "-")
        mlflow.log_artifact(str(result.html), artifact_path="evidently")
        return str(run.info.run_id)


def log_quality(qualities: list[Quality], model_name: str, step: int) -> str | None:
    import mlflow

    if not qualities:
        return None
    mlflow.set_experiment(EXPERIMENT)
    with mlflow.start_run(run_name=f"labels {model_name}") as run:
        mlflow.set_tag("lfd.kind", "labels")
        for q in qualities:
            values = {
                "pr_auc_weighted": q.pr_auc_weighted,
                "recall_at_threshold": q.recall_at_threshold,
                "alert_precision": q.alert_precision,
                "transactions": float(q.transactions),
                "frauds": float(q.frauds),
            }
            mlflow.log_metrics(
                {f"v{q.model_version}_{k}": v for k, v in values.items() if not math.isnan(v)}, step=step
            )
        return str(run.info.run_id)
