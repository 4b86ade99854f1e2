"""The champion as the monitor needs it: version, bundle, reference sample and its held-out PR-AUC (adapter)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from lfd.model_bundle import REFERENCE_FILE, ModelBundle, find_bundle_dir


@dataclass
class Champion:
    name: str
    version: str
    bundle: ModelBundle
    reference: pd.DataFrame
    reference_scores: npt.NDArray[np.float32]
    pr_auc_weighted: float | None  # the registered version's held-out figure (tag pr_auc_weighted)


def version_baseline(tags: dict[str, str]) -> float | None:
    try:
        return float(tags["pr_auc_weighted"])
    except (KeyError, ValueError):
        return None


def load_champion(name: str, alias: str = "champion") -> Champion:
    import mlflow
    from mlflow import MlflowClient

    version = MlflowClient().get_model_version_by_alias(name, alias)
    target = Path(tempfile.mkdtemp(prefix="lfd-champion-"))
    local = Path(
        mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version.version}", dst_path=str(target))
    )
    directory = find_bundle_dir(local)
    bundle = ModelBundle.load(directory)
    reference_path = directory / REFERENCE_FILE
    if not reference_path.exists():
        raise FileNotFoundError(f"{name} version {version.version} has no {REFERENCE_FILE}: retrain it with lfd train")
    reference = pd.read_parquet(reference_path)
    return Champion(
        name, str(version.version), bundle, reference, bundle.predict_proba(reference), version_baseline(version.tags)
    )


def baselines(name: str, versions: list[str]) -> dict[str, float]:
    """Held-out weighted PR-AUC per registered version (versions without the tag are left out)."""
    from mlflow import MlflowClient

    client, found = MlflowClient(), {}
    for v in versions:
        try:
            tags: Any = client.get_model_version(name, v).tags
        except Exception:
            continue
        value = version_baseline(tags)
        if value is not None:
            found[v] = value
    return found
