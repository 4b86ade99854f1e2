"""Synthetic transactions for load tests and the demo stream: never for quality claims.

A class-conditional Gaussian copula fitted on real rows: per class, each feature keeps its own
marginal (an empirical quantile function, so heavy-tailed ``Amount`` and skewed PCA components stay
realistic) and the features keep their correlations (the correlation matrix of the normal scores).
Sampling draws correlated normals, maps them to uniforms and through each quantile function.

Pure numpy (the streaming environment imports it without scipy). Usage::

    gen = SyntheticGenerator.fit(labelled_frame)       # columns of lfd.contract.LABELLED_COLUMNS
    gen.save(Path("generator.npz"))                   # reuse the fitted parameters
    frame = SyntheticGenerator.load(Path("generator.npz")).sample(10_000, fraud_ratio=0.002, seed=7)
    records = to_records(frame)                       # contract wire records with unique ids
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from lfd.constants import STREAM_FRAUD_RATIO
from lfd.contract import AMOUNT_FIELD, FEATURES, ID_FIELD, LABEL_FIELD, TIME_FIELD

QUANTILES = 513  # grid points per marginal: fine enough for the tails of ~300 frauds and ~25k legit rows
Array = npt.NDArray[np.float64]


def _normal_cdf(z: Array) -> Array:
    """Phi(z) via erf, vectorised without scipy (math.erf is exact to double precision)."""
    erf = np.frompyfunc(math.erf, 1, 1)
    return np.asarray(0.5 * (1.0 + erf(z / math.sqrt(2.0)).astype(np.float64)), dtype=np.float64)


def _normal_ppf(u: Array) -> Array:
    """Inverse of Phi, by Acklam's rational approximation (relative error < 1.2e-9)."""
    a = (
        -3.969683028665376e01,
        2.209460984245205e02,
        -2.759285104469687e02,
        1.383577518672690e02,
        -3.066479806614716e01,
        2.506628277459239e00,
    )
    b = (
        -5.447609879822406e01,
        1.615858368580409e02,
        -1.556989798598866e02,
        6.680131188771972e01,
        -1.328068155288572e01,
    )
    c = (
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e00,
        -2.549732539343734e00,
        4.374664141464968e00,
        2.938163982698783e00,
    )
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
    u = np.clip(u, 1e-12, 1 - 1e-12)
    low, high = u < 0.02425, u > 1 - 0.02425
    out = np.empty_like(u)
    q = np.sqrt(-2 * np.log(np.where(low, u, np.where(high, 1 - u, 0.5))))
    tail = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
        (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1
    )
    r = (u - 0.5) ** 2
    mid = (
        (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
        * (u - 0.5)
        / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    )
    out[:] = mid
    out[low] = tail[low]
    out[high] = -tail[high]
    return out


@dataclass(frozen=True)
class ClassModel:
    """Copula of one class: quantile functions (QUANTILES x features) and normal-score correlation."""

    quantiles: Array
    correlation: Array

    @classmethod
    def fit(cls, x: Array) -> ClassModel:
        if len(x) < 2:
            raise ValueError(f"need at least 2 rows per class to fit a copula, got {len(x)}")
        grid = np.linspace(0.0, 1.0, QUANTILES)
        quantiles = np.quantile(x, grid, axis=0)
        ranks = (np.argsort(np.argsort(x, axis=0, kind="stable"), axis=0) + 0.5) / len(x)
        scores = _normal_ppf(ranks)
        correlation = np.corrcoef(scores, rowvar=False)
        correlation = np.nan_to_num(correlation, nan=0.0)  # a constant column correlates with nothing
        np.fill_diagonal(correlation, 1.0)
        return cls(quantiles=quantiles, correlation=_nearest_positive_definite(correlation))

    def sample(self, n: int, rng: np.random.Generator) -> Array:
        z = rng.multivariate_normal(np.zeros(len(self.correlation)), self.correlation, size=n, method="cholesky")
        u = _normal_cdf(z)
        grid = np.linspace(0.0, 1.0, QUANTILES)
        return np.column_stack([np.interp(u[:, j], grid, self.quantiles[:, j]) for j in range(u.shape[1])])


def _nearest_positive_definite(matrix: Array) -> Array:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    fixed = vectors @ np.diag(np.maximum(values, 1e-6)) @ vectors.T
    scale = np.sqrt(np.diag(fixed))
    return np.asarray(fixed / np.outer(scale, scale), dtype=np.float64)


@dataclass(frozen=True)
class SyntheticGenerator:
    legit: ClassModel
    fraud: ClassModel

    @classmethod
    def fit(cls, frame: Any) -> SyntheticGenerator:
        """Fit on a labelled frame (columns ``FEATURES`` + ``Class``)."""
        x = frame[list(FEATURES)].to_numpy(dtype=np.float64)
        y = frame[LABEL_FIELD].to_numpy()
        return cls(legit=ClassModel.fit(x[y == 0]), fraud=ClassModel.fit(x[y == 1]))

    def sample(
        self, n: int, fraud_ratio: float = STREAM_FRAUD_RATIO, seed: int = 0, id_prefix: str | None = None
    ) -> Any:
        """``n`` rows (``id``, ``FEATURES``, ``Class``), ``round(n * fraud_ratio)`` of them frauds, shuffled.

        Ids are ``{id_prefix}-{i:09d}`` (default prefix ``syn{seed}``): unique within a call and across
        calls with different seeds or prefixes. ``Time`` is sorted ascending over the rows, as in a stream.
        """
        import pandas as pd

        if n < 0 or not 0.0 <= fraud_ratio <= 1.0:
            raise ValueError(f"need n >= 0 and 0 <= fraud_ratio <= 1, got n={n}, fraud_ratio={fraud_ratio}")
        rng = np.random.default_rng(seed)
        n_fraud = round(n * fraud_ratio)
        x = np.vstack([self.legit.sample(n - n_fraud, rng), self.fraud.sample(n_fraud, rng)])
        y = np.concatenate([np.zeros(n - n_fraud, np.int8), np.ones(n_fraud, np.int8)])
        order = rng.permutation(n)
        x, y = x[order], y[order]
        time_col, amount_col = FEATURES.index(TIME_FIELD), FEATURES.index(AMOUNT_FIELD)
        x[:, time_col] = np.sort(x[:, time_col])
        x[:, amount_col] = np.round(np.maximum(x[:, amount_col], 0.0), 2)
        prefix = id_prefix if id_prefix is not None else f"syn{seed}"
        frame = pd.DataFrame(x, columns=list(FEATURES))
        frame.insert(0, ID_FIELD, [f"{prefix}-{i:09d}" for i in range(n)])
        frame[LABEL_FIELD] = y
        return frame

    def save(self, path: Path) -> Path:
        np.savez_compressed(
            path,
            legit_quantiles=self.legit.quantiles,
            legit_correlation=self.legit.correlation,
            fraud_quantiles=self.fraud.quantiles,
            fraud_correlation=self.fraud.correlation,
            features=np.array(FEATURES),
        )
        return path

    @classmethod
    def load(cls, path: Path) -> SyntheticGenerator:
        with np.load(path) as data:
            if tuple(str(f) for f in data["features"]) != FEATURES:
                raise ValueError(f"{path} was fitted on other features than the contract's; refit it")
            return cls(
                legit=ClassModel(data["legit_quantiles"], data["legit_correlation"]),
                fraud=ClassModel(data["fraud_quantiles"], data["fraud_correlation"]),
            )


def to_records(frame: Any) -> list[dict[str, Any]]:
    """Contract wire records (``id`` + ``FEATURES``; the label stays out), ready for JSON."""
    columns = [ID_FIELD, *FEATURES]
    return [dict(zip(columns, row, strict=True)) for row in frame[columns].itertuples(index=False, name=None)]
