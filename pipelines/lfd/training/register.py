"""MLflow 3 registry: log a run per family, register the winner, move aliases (never stages).

Names shared with serving and the operator: registered model ``fraud-detector``, aliases
``challenger`` (set by ``lfd train --register``) and ``champion`` (set by ``lfd promote``). The
registered pyfunc model carries the ``ModelBundle`` directory as artifact ``bundle``.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lfd.constants import CHALLENGER, CHAMPION, MODEL_NAME
from lfd.contract import FEATURES
from lfd.model_bundle import MLFLOW_ARTIFACT_KEY, BundleMetadata, ModelBundle

REFERENCE_ROWS = 5000


class RegistryError(RuntimeError):
    """The registry is missing what an action needs (e.g. no challenger to promote)."""


def reference_sample(train: pd.DataFrame, seed: int, rows: int = REFERENCE_ROWS) -> pd.DataFrame:
    """A seeded sample of training features (contract columns, float64) for drift detection."""
    sample = train.sample(n=min(rows, len(train)), random_state=seed) if len(train) > rows else train
    return sample[list(FEATURES)].reset_index(drop=True)


def build_bundle(booster: Any, metadata: BundleMetadata, reference: pd.DataFrame, directory: Path) -> ModelBundle:
    bundle = ModelBundle(booster, metadata)
    bundle.save(directory, reference=reference)
    return bundle


@dataclass(frozen=True)
class LoggedModel:
    run_id: str
    model_uri: str


def log_family_run(
    family: str,
    params: dict[str, Any],
    metrics: dict[str, float],
    plots: list[Path],
    bundle_dir: Path,
    example: pd.DataFrame,
    tags: dict[str, str],
) -> LoggedModel:
    """One nested MLflow run: params, metrics, plots, and the pyfunc model wrapping the bundle."""
    import mlflow

    from lfd.training.pyfunc_model import FraudDetectorModel, predictions_frame

    with mlflow.start_run(run_name=family, nested=True, tags={**tags, "lfd.family": family}) as run:
        mlflow.log_params({k: _param(v) for k, v in params.items()})
        mlflow.log_metrics(metrics)
        for plot in plots:
            mlflow.log_artifact(str(plot), artifact_path="plots")
        signature = mlflow.models.infer_signature(example, predictions_frame(ModelBundle.load(bundle_dir), example))
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=FraudDetectorModel(),
            artifacts={MLFLOW_ARTIFACT_KEY: str(bundle_dir)},
            signature=signature,
            input_example=example,
            pip_requirements=_requirements(family),
        )
        return LoggedModel(run_id=run.info.run_id, model_uri=info.model_uri)


def _param(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (dict, list, tuple)) else value


def _requirements(family: str) -> list[str]:
    from importlib.metadata import version

    booster = "xgboost-cpu" if family == "xgboost" else "lightgbm"
    module = "xgboost" if family == "xgboost" else "lightgbm"
    return [
        f"mlflow=={version('mlflow')}",
        f"{booster}=={__import__(module).__version__}",
        f"numpy=={version('numpy')}",
        f"pandas=={version('pandas')}",
        f"pyarrow=={version('pyarrow')}",
    ]


def registration_gate(winner_validation_pr_auc: float, minimum: float) -> str | None:
    """Why the winner must not be registered, or None if it may be (pure)."""
    if winner_validation_pr_auc < minimum:
        return (
            f"winner's validation PR-AUC (weighted) {winner_validation_pr_auc:.4f} is below the registration "
            f"minimum {minimum:.4f}; not registered"
        )
    return None


def register_challenger(model_uri: str, name: str = MODEL_NAME, tags: dict[str, str] | None = None) -> str:
    """Register ``model_uri`` as a new version of ``name`` and point ``challenger`` at it."""
    import mlflow
    from mlflow import MlflowClient

    version = mlflow.register_model(model_uri, name, tags=tags or {}).version
    MlflowClient().set_registered_model_alias(name, CHALLENGER, str(version))
    return str(version)


def promote(name: str = MODEL_NAME, version: str | None = None) -> str:
    """Move ``champion`` to ``version`` (default: the current ``challenger``); return the version."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    try:
        if version is None:
            version = str(client.get_model_version_by_alias(name, CHALLENGER).version)
        else:
            client.get_model_version(name, version)
        client.set_registered_model_alias(name, CHAMPION, version)
    except MlflowException as exc:
        what = f"version {version}" if version else f"alias @{CHALLENGER}"
        raise RegistryError(f"cannot promote {name}: {what} not found ({exc.message})") from exc
    return version


def download_bundle(model_uri: str) -> ModelBundle:
    """Fetch a registered model's bundle (e.g. ``models:/fraud-detector@champion``) and load it."""
    import mlflow

    target = Path(tempfile.mkdtemp(prefix="lfd-bundle-"))
    local = mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(target))
    return ModelBundle.load(Path(local))
