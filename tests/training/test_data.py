"""The loader rejects every broken file with the column and the rule; it accepts the real files."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from lfd.contract import LABELLED_COLUMNS
from lfd.training.data import DEFAULT_DATA, DataValidationError, fingerprint, load_labelled, require_both_classes
from tests.training.conftest import make_frame

HEADER = ",".join(LABELLED_COLUMNS)


def _row(**overrides: str) -> str:
    values = {c: "0.5" for c in LABELLED_COLUMNS}
    values["Class"] = "0"
    values.update(overrides)
    return ",".join(values[c] for c in LABELLED_COLUMNS)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "field", "rule"),
    [
        ("", "<file>", "empty"),
        (HEADER + "\n", "<file>", "no rows"),
        (HEADER.replace(",V7", "") + "\n" + _row().replace("0.5,", "", 1), "V7", "missing"),
        (HEADER + ",extra\n" + _row() + ",1", "extra", "unknown column"),
        (HEADER + "\n" + _row(V3="abc"), "V3", "numeric"),
        (HEADER + "\n" + _row(V12="nan"), "V12", "finite"),
        (HEADER + "\n" + _row(V12=""), "V12", "finite"),
        (HEADER + "\n" + _row(Amount="inf"), "Amount", "finite"),
        (HEADER + "\n" + _row(V1="-inf"), "V1", "finite"),
        (HEADER + "\n" + _row(Amount="-1"), "Amount", ">= 0"),
        (HEADER + "\n" + _row(Time="-5"), "Time", ">= 0"),
        (HEADER + "\n" + _row(Class="2"), "Class", "0 (legitimate) or 1"),
        (HEADER + "\n" + _row(Class="0.5"), "Class", "0 (legitimate) or 1"),
    ],
    ids=[
        "empty-file",
        "header-only",
        "missing-column",
        "unknown-column",
        "non-numeric",
        "nan",
        "blank",
        "inf",
        "minus-inf",
        "negative-amount",
        "negative-time",
        "class-2",
        "class-fraction",
    ],
)
def test_loader_rejects_with_column_and_rule(
    write_csv: Callable[[str], Path], text: str, field: str, rule: str
) -> None:
    with pytest.raises(DataValidationError) as caught:
        load_labelled(write_csv(text))
    assert caught.value.field == field
    assert rule in caught.value.rule
    assert field in str(caught.value)


@pytest.mark.unit
def test_loader_names_the_row_of_the_bad_value(write_csv: Callable[[str], Path]) -> None:
    text = "\n".join([HEADER, _row(), _row(), _row(V9="x")])
    with pytest.raises(DataValidationError, match="row 2") as caught:
        load_labelled(write_csv(text))
    assert caught.value.index == 2


@pytest.mark.unit
def test_loader_accepts_any_column_order_and_gzip(tmp_path: Path) -> None:
    frame = make_frame(50, 3)
    path = tmp_path / "shuffled.csv.gz"
    with gzip.open(path, "wt") as out:
        frame[list(reversed(frame.columns))].to_csv(out, index=False)
    loaded = load_labelled(path)
    assert list(loaded.columns) == list(LABELLED_COLUMNS)
    pd.testing.assert_frame_equal(loaded.astype("float64"), frame.astype("float64"))


@pytest.mark.unit
def test_loader_reads_the_dev_sample(dev_frame: pd.DataFrame) -> None:
    assert len(dev_frame) == 25_918
    assert int(dev_frame["Class"].sum()) == 331
    assert str(dev_frame["Class"].dtype) == "int8"


@pytest.mark.unit
def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.csv"):
        load_labelled(tmp_path / "nope.csv")


@pytest.mark.unit
def test_require_both_classes_names_what_is_missing() -> None:
    frame = make_frame(30, 0)
    with pytest.raises(DataValidationError, match="test split has no frauds"):
        require_both_classes(frame, "test split")


@pytest.mark.unit
def test_fingerprint_changes_with_one_value() -> None:
    frame = make_frame(30, 2)
    changed = frame.copy()
    changed.loc[5, "V4"] += 1e-9
    assert fingerprint(frame) == fingerprint(frame.copy())
    assert fingerprint(frame) != fingerprint(changed)
    assert fingerprint(frame).startswith("sha256:")


@pytest.mark.unit
def test_default_data_is_the_shared_dev_file() -> None:
    assert DEFAULT_DATA.name == "creditcard_dev.csv.gz"
