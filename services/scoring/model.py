"""Load the model to serve (registry URI or local directory), resolve its name and version, warm it up.

Decide: :func:`parse_model_uri` (pure). Act: :func:`load_model` (registry and disk I/O).
A ``models:/name@alias`` URI is resolved to a concrete version *first* and that version is
downloaded, so the name/version we report is exactly what we loaded even if the alias moves meanwhile.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from lfd.contract import FEATURES, N_FEATURES
from lfd.model_bundle import MLFLOW_ARTIFACT_KEY, FloatArray, ModelBundle

from .config import ScoringConfig
from .trees import MAX_COMPILED_ROWS, CompiledTrees, compile_checked
from .xgb_direct import DirectPredictor, direct_checked

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelRef:
    """Where a registry model lives: ``name`` plus either ``version`` or ``alias``."""

    name: str
    version: str = ""
    alias: str = ""


def parse_model_uri(uri: str) -> ModelRef:
    """``models:/fraud-detector@champion`` → ModelRef(name, alias); ``models:/fraud-detector/3`` → version."""
    prefix = "models:/"
    if not uri.startswith(prefix):
        raise ValueError(f"model URI {uri!r}: expected models:/<name>@<alias> or models:/<name>/<version>")
    rest = uri[len(prefix) :].strip("/")
    if "@" in rest:
        name, _, alias = rest.partition("@")
        if name and alias and "/" not in alias:
            return ModelRef(name=name, alias=alias)
    elif "/" in rest:
        name, _, version = rest.partition("/")
        if name and version.isdigit():
            return ModelRef(name=name, version=version)
    raise ValueError(f"model URI {uri!r}: expected models:/<name>@<alias> or models:/<name>/<version>")


@dataclass(frozen=True)
class LoadedModel:
    bundle: ModelBundle
    name: str
    version: str
    source: str  # the URI or directory it came from, for logs and /v2/models/{name}
    #: Small batches go through this (same scores, far less per-call overhead); see ``scoring.trees``.
    compiled: CompiledTrees | None = None
    #: Larger XGBoost batches go through this (libxgboost's own call minus its Python wrapper); see ``scoring.xgb_direct``.
    direct: DirectPredictor | None = None
    #: A deployment's threshold (``LFD_SCORING_THRESHOLD``) in place of the bundle's.
    threshold_override: float | None = None

    @property
    def threshold(self) -> float:
        return self.bundle.threshold if self.threshold_override is None else self.threshold_override

    @property
    def flavor(self) -> str:
        return self.bundle.flavor

    def predict(self, matrix: FloatArray) -> FloatArray:
        """Fraud probabilities of a contiguous float32 (n, 30) matrix: the compiled trees for small finite
        batches, else the booster (libxgboost called directly, or ``inplace_predict``)."""
        if self.compiled is not None and len(matrix) <= MAX_COMPILED_ROWS and np.isfinite(matrix).all():
            return self.compiled.predict_proba(matrix)
        if self.direct is not None:
            return self.direct(ModelBundle.as_matrix(matrix))
        return self.bundle.predict_proba(matrix)

    def contributions(self, matrix: FloatArray) -> FloatArray:
        """TreeSHAP contributions (n, 31), bias last. For XGBoost the DMatrix is built with
        ``nthread=1``: with the default thread pool a one-row DMatrix costs ~10x more."""
        if self.bundle.flavor != "xgboost":
            return self.bundle.contributions(matrix)
        import xgboost as xgb

        dmatrix = xgb.DMatrix(ModelBundle.as_matrix(matrix), feature_names=list(FEATURES), nthread=1)
        return np.asarray(self.bundle.booster.predict(dmatrix, pred_contribs=True), dtype=np.float32)

    def warm_up(self) -> None:
        """One prediction and one explanation, so the first request pays no lazy initialisation."""
        row = np.zeros((1, N_FEATURES), dtype=np.float32)
        proba = self.predict(row)
        contribs = self.contributions(row)
        if proba.shape != (1,) or not np.isfinite(proba).all() or contribs.shape != (1, N_FEATURES + 1):
            raise RuntimeError(f"warm-up prediction failed: proba {proba!r}, contributions {contribs.shape}")


def bundle_dir_of_mlflow_model(model_dir: Path) -> Path:
    """Where the ``bundle`` artifact of a downloaded pyfunc model is: MLmodel records it.

    pyfunc copies an artifact directory under its *source* basename (``artifacts/<dirname>``), which is
    ``artifacts/bundle`` only if the trainer's directory was named ``bundle``; the MLmodel file is
    the source of truth. Anything else (a bare bundle directory) is left to ``find_bundle_dir``.
    """
    import yaml

    mlmodel = model_dir / "MLmodel"
    if mlmodel.exists():
        flavors = yaml.safe_load(mlmodel.read_text()).get("flavors", {})
        artifacts = flavors.get("python_function", {}).get("artifacts") or {}
        relative = (artifacts.get(MLFLOW_ARTIFACT_KEY) or {}).get("path")
        if relative:
            return model_dir / str(relative)
    return model_dir


def _resolve(ref: ModelRef, tracking_uri: str) -> str:
    from mlflow.tracking import MlflowClient

    if ref.version:
        return ref.version
    client = MlflowClient(tracking_uri=tracking_uri or None)
    version: str = client.get_model_version_by_alias(ref.name, ref.alias).version
    return str(version)


def load_model(config: ScoringConfig) -> LoadedModel:
    """Load, validate against the contract (ModelBundle does) and warm up; raise with the reason."""
    if config.model_dir:
        bundle = ModelBundle.load(bundle_dir_of_mlflow_model(Path(config.model_dir)))
        model = LoadedModel(bundle, config.model_name, config.model_version, config.model_dir)
    else:
        import mlflow.artifacts

        ref = parse_model_uri(config.model_uri)
        version = _resolve(ref, config.tracking_uri)
        pinned = f"models:/{ref.name}/{version}"
        destination = tempfile.mkdtemp(prefix="lfd-scoring-model-")
        # A `models:/` download resolves against the process's *registry* URI, which otherwise is MLflow's
        # default (a new ./mlflow.db unless MLFLOW_TRACKING_URI is exported): the alias was resolved on our
        # server and the download looked elsewhere ("Registered Model ... not found"). MLflow 3's models
        # artifact repository ignores download_artifacts(registry_uri=...), so set it for the process (a
        # scoring worker loads from exactly one registry). The tracking URI too: otherwise MLflow still opens
        # its default store, creating ./mlflow.db (and failing where the working directory is read-only).
        if config.tracking_uri:
            mlflow.set_tracking_uri(config.tracking_uri)
            mlflow.set_registry_uri(config.tracking_uri)
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=pinned,
            dst_path=destination,
            tracking_uri=config.tracking_uri or None,
            registry_uri=config.tracking_uri or None,
        )
        bundle = ModelBundle.load(bundle_dir_of_mlflow_model(Path(local)))
        model = LoadedModel(bundle, ref.name, version, f"{config.model_uri} -> {pinned}")
    if config.threshold >= 0:
        model = replace(model, threshold_override=config.threshold)
    if model.flavor == "xgboost":
        booster, reference = model.bundle.booster, model.bundle.predict_proba
        model = replace(
            model,
            compiled=compile_checked(booster, reference, N_FEATURES),
            direct=direct_checked(booster, reference, N_FEATURES),
        )
    model.warm_up()
    log.info(
        "model %s version %s loaded from %s (flavor %s, threshold %.4f, compiled trees for small batches: %s, "
        "direct libxgboost calls: %s)",
        model.name,
        model.version,
        model.source,
        model.flavor,
        model.threshold,
        model.compiled is not None,
        model.direct is not None,
    )
    return model
