"""Load and validate a labelled transactions file (the ULB/Kaggle ``creditcard.csv`` layout).

Accepts ``.csv`` or ``.csv.gz`` with exactly the columns of ``lfd.contract.LABELLED_COLUMNS`` in any
order (the dev sample and the full Kaggle file both qualify). Every rejection is a
``DataValidationError`` naming the column and the rule, so a user can fix the file without reading
code. Unknown columns are rejected, as on the wire: ``amount`` next to ``Amount`` is a typo, not data.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from lfd.contract import (
    AMOUNT_FIELD,
    FEATURES,
    LABEL_FIELD,
    LABELLED_COLUMNS,
    TIME_FIELD,
    ContractViolation,
)
from lfd.training.defaults import DEFAULT_DATA

__all__ = [
    "DEFAULT_DATA",
    "DataValidationError",
    "fingerprint",
    "load_labelled",
    "require_both_classes",
    "validate_labelled",
]


class DataValidationError(ContractViolation):
    """The labelled file breaks the contract; ``field`` is the column, ``rule`` what is wrong."""


def load_labelled(path: Path) -> pd.DataFrame:
    """Read ``path`` and return a validated frame: features as float64, ``Class`` as int8."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"labelled data file {path} does not exist")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError as exc:
        raise DataValidationError("<file>", f"{path} is empty (no header, no rows)") from exc
    return validate_labelled(raw)


def validate_labelled(raw: pd.DataFrame) -> pd.DataFrame:
    """Pure check of a frame read as strings (or numbers); returns a typed copy in contract order."""
    _check_columns(raw)
    if raw.empty:
        raise DataValidationError("<file>", "has a header but no rows")
    typed = pd.DataFrame({column: _as_finite(raw[column], column) for column in LABELLED_COLUMNS})
    for column in (TIME_FIELD, AMOUNT_FIELD):
        _check_non_negative(typed[column], column)
    typed[LABEL_FIELD] = _as_label(typed[LABEL_FIELD])
    return typed.reset_index(drop=True)


def _check_columns(raw: pd.DataFrame) -> None:
    present = [str(c) for c in raw.columns]
    missing = [c for c in LABELLED_COLUMNS if c not in present]
    if missing:
        raise DataValidationError(missing[0], f"column is missing (expected columns {', '.join(LABELLED_COLUMNS)})")
    unknown = [c for c in present if c not in LABELLED_COLUMNS]
    if unknown:
        raise DataValidationError(unknown[0], "unknown column (unknown columns are rejected; check the spelling)")
    duplicated = sorted({c for c in present if present.count(c) > 1})
    if duplicated:
        raise DataValidationError(duplicated[0], "column appears more than once")


def _first_row(mask: npt.NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(mask)[0])


def _as_finite(values: pd.Series, column: str) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    blank = values.astype(str).str.strip().isin(["", "nan", "NaN", "NA", "null"])
    not_numeric = numbers.isna().to_numpy() & ~blank.to_numpy()
    if not_numeric.any():
        row = _first_row(not_numeric)
        raise DataValidationError(column, f"must be numeric; row {row} has {values.iloc[row]!r}", row)
    as_float = numbers.to_numpy(dtype=np.float64)
    non_finite = ~np.isfinite(as_float)
    if non_finite.any():
        row = _first_row(non_finite)
        raise DataValidationError(
            column, f"must be finite (no NaN, empty or inf); row {row} has {values.iloc[row]!r}", row
        )
    return pd.Series(as_float, index=values.index, name=column)


def _check_non_negative(values: pd.Series, column: str) -> None:
    negative = values.to_numpy() < 0
    if negative.any():
        row = _first_row(negative)
        raise DataValidationError(column, f"must be >= 0; row {row} has {values.iloc[row]}", row)


def _as_label(values: pd.Series) -> pd.Series:
    bad = ~values.isin([0.0, 1.0]).to_numpy()
    if bad.any():
        row = _first_row(bad)
        raise DataValidationError(
            LABEL_FIELD, f"must be 0 (legitimate) or 1 (fraud); row {row} has {values.iloc[row]}", row
        )
    return values.astype(np.int8)


def require_both_classes(frame: pd.DataFrame, what: str) -> None:
    """Training and evaluation need frauds and legitimate rows; say which is missing where."""
    counts = frame[LABEL_FIELD].value_counts()
    for label, name in ((1, "frauds"), (0, "legitimate rows")):
        if counts.get(label, 0) == 0:
            raise DataValidationError(LABEL_FIELD, f"the {what} has no {name} (Class == {label})")


def fingerprint(frame: pd.DataFrame) -> str:
    """SHA-256 of the labelled rows in contract order: identifies the exact training data."""
    digest = hashlib.sha256()
    digest.update(",".join(LABELLED_COLUMNS).encode())
    digest.update(np.ascontiguousarray(frame[list(FEATURES)].to_numpy(dtype=np.float64)).tobytes())
    digest.update(np.ascontiguousarray(frame[LABEL_FIELD].to_numpy(dtype=np.int8)).tobytes())
    return f"sha256:{digest.hexdigest()}"
