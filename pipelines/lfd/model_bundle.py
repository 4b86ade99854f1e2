"""The model bundle: everything serving needs from a trained model, in one directory.

Training writes it (and registers it in MLflow as the ``bundle`` artifact of a pyfunc model); the
scoring service, the operator's quality gate and drift detection read it. Layout::

    bundle/
      booster.json | booster.txt   the native XGBoost (JSON) or LightGBM (text) model
      metadata.json                 BundleMetadata below, as JSON
      reference.parquet             a sample of training features (contract columns) for drift

Scores are fraud probabilities from the native booster on float32 arrays in ``FEATURES`` order;
contributions are TreeSHAP values (``pred_contribs`` / ``pred_contrib``) in log-odds, one column per
feature plus the bias last.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from lfd.contract import FEATURE_DTYPE, FEATURES

Flavor = Literal["xgboost", "lightgbm"]
BOOSTER_FILES: dict[str, str] = {"xgboost": "booster.json", "lightgbm": "booster.txt"}
METADATA_FILE = "metadata.json"
REFERENCE_FILE = "reference.parquet"
#: Name of the artifact directory inside a registered MLflow pyfunc model.
MLFLOW_ARTIFACT_KEY = "bundle"

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class BundleMetadata:
    flavor: Flavor
    threshold: float
    features: tuple[str, ...] = FEATURES
    training_fingerprint: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    cost_model: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> str:
        data = asdict(self)
        data["features"] = list(self.features)
        return json.dumps(data, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> BundleMetadata:
        data = json.loads(text)
        data["features"] = tuple(data["features"])
        return cls(**data)


class BundleError(RuntimeError):
    """The bundle directory is missing a file or disagrees with the transaction contract."""


class ModelBundle:
    """A loaded booster plus its metadata. Thread-safe for prediction (native boosters are)."""

    def __init__(self, booster: Any, metadata: BundleMetadata) -> None:
        if metadata.features != FEATURES:
            raise BundleError(
                f"bundle was trained on features {metadata.features[:3]}... which differ from the contract "
                f"{FEATURES[:3]}...; retrain with the current contract"
            )
        self.booster = booster
        self.metadata = metadata

    @property
    def threshold(self) -> float:
        return self.metadata.threshold

    @property
    def flavor(self) -> Flavor:
        return self.metadata.flavor

    @staticmethod
    def as_matrix(rows: Any) -> FloatArray:
        """Contiguous float32 (n, 30) in contract order, from an array, list of lists or DataFrame."""
        if hasattr(rows, "columns"):
            rows = rows[list(FEATURES)].to_numpy()
        matrix = np.ascontiguousarray(rows, dtype=FEATURE_DTYPE)
        if matrix.ndim != 2 or matrix.shape[1] != len(FEATURES):
            raise BundleError(f"expected shape (n, {len(FEATURES)}), got {matrix.shape}")
        return matrix

    def predict_proba(self, rows: Any) -> FloatArray:
        x = self.as_matrix(rows)
        out = self.booster.inplace_predict(x) if self.flavor == "xgboost" else self.booster.predict(x, num_threads=1)
        return np.asarray(out, dtype=np.float32)

    def contributions(self, rows: Any) -> FloatArray:
        """TreeSHAP contributions in log-odds: shape (n, n_features + 1), bias in the last column."""
        x = self.as_matrix(rows)
        if self.flavor == "xgboost":
            import xgboost as xgb

            out = self.booster.predict(xgb.DMatrix(x, feature_names=list(FEATURES)), pred_contribs=True)
        else:
            out = self.booster.predict(x, pred_contrib=True, num_threads=1)
        return np.asarray(out, dtype=np.float32)

    # --- persistence -------------------------------------------------------------------------

    def save(self, directory: Path, reference: Any | None = None) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(directory / BOOSTER_FILES[self.flavor]))
        (directory / METADATA_FILE).write_text(self.metadata.to_json())
        if reference is not None:
            reference.to_parquet(directory / REFERENCE_FILE, index=False)
        return directory

    @classmethod
    def load(cls, directory: Path) -> ModelBundle:
        directory = find_bundle_dir(directory)
        metadata = BundleMetadata.from_json((directory / METADATA_FILE).read_text())
        path = directory / BOOSTER_FILES[metadata.flavor]
        if not path.exists():
            raise BundleError(f"{path} missing: the bundle is incomplete")
        if metadata.flavor == "xgboost":
            import xgboost as xgb

            booster: Any = xgb.Booster()
            booster.load_model(str(path))
            booster.set_param({"nthread": 1})  # many small requests: threads cost more than they give
        else:
            import lightgbm as lgb

            booster = lgb.Booster(model_file=str(path))
        return cls(booster, metadata)

    def reference(self, directory: Path) -> Any:
        import pandas as pd

        return pd.read_parquet(find_bundle_dir(directory) / REFERENCE_FILE)


def find_bundle_dir(path: Path) -> Path:
    """Accept the bundle dir itself, a downloaded MLflow model dir, or its artifacts dir.

    MLflow copies a pyfunc artifact under the *source* directory's name (``artifacts/<dirname>``), not
    under its artifact key, so any single ``artifacts/*/metadata.json`` is accepted too."""
    for candidate in (path, path / MLFLOW_ARTIFACT_KEY, path / "artifacts" / MLFLOW_ARTIFACT_KEY):
        if (candidate / METADATA_FILE).exists():
            return candidate
    found = sorted(p.parent for p in path.glob(f"artifacts/*/{METADATA_FILE}"))
    if len(found) == 1:
        return found[0]
    if found:
        raise BundleError(f"several model bundles under {path}: {', '.join(map(str, found))}")
    raise BundleError(f"no model bundle ({METADATA_FILE}) under {path}")
