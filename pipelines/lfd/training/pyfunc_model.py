"""The MLflow pyfunc wrapper around a ``ModelBundle``: any MLflow consumer gets scores, not labels.

``mlflow.pyfunc.load_model("models:/fraud-detector@champion").predict(df)`` returns a DataFrame with
``fraud_probability`` (float, from the native booster on float32 in contract order: the same
numbers the scoring service computes) and ``decision`` (1 = fraud at the bundle's threshold).
The loading environment needs the ``lfd`` package (this project) next to xgboost or lightgbm.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd

from lfd.model_bundle import MLFLOW_ARTIFACT_KEY, ModelBundle

OUTPUT_COLUMNS = ("fraud_probability", "decision")


def predictions_frame(bundle: ModelBundle, rows: Any) -> pd.DataFrame:
    probability = bundle.predict_proba(rows)
    return pd.DataFrame(
        {
            OUTPUT_COLUMNS[0]: probability.astype(np.float64),
            OUTPUT_COLUMNS[1]: (probability >= bundle.threshold).astype(np.int64),
        }
    )


class FraudDetectorModel(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
    def load_context(self, context: Any) -> None:
        self._bundle = ModelBundle.load(Path(context.artifacts[MLFLOW_ARTIFACT_KEY]))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return predictions_frame(self._bundle, model_input)
