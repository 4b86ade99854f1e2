"""The CLI teaches (--help with examples) and maps user errors to one line and exit code 1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lfd.contract import parse_batch
from lfd_dev.cli import main

LFD = [sys.executable, "-m", "lfd_dev.cli"]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("command", "must_mention"),
    [
        (
            "train",
            [
                "--time-budget",
                "--register",
                "--split",
                "examples:",
                "EUR 5",
                "7.749",
                "challenger",
                "--refit",
                "ALL labelled rows",
            ],
        ),
        ("promote", ["--version", "examples:", "champion"]),
        ("generate", ["--fraud-ratio", "examples:", "never for quality claims"]),
    ],
)
def test_help_teaches(command: str, must_mention: list[str]) -> None:
    out = subprocess.run([*LFD, command, "--help"], capture_output=True, text=True, check=True).stdout
    for text in must_mention:
        assert text in out, f"`lfd {command} --help` does not mention {text!r}"


@pytest.mark.unit
def test_train_reports_bad_data_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("Time,V1\n0,1\n")
    code = main(["train", "--data", str(bad), "--tracking-uri", "file:///nowhere", "--no-register"])
    assert code == 1
    assert "field 'V2': column is missing" in capsys.readouterr().err


@pytest.mark.unit
def test_train_reports_unreachable_mlflow(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train", "--tracking-uri", "http://127.0.0.1:9", "--time-budget", "1"])
    assert code == 1
    assert "lfd stack up mlflow" in capsys.readouterr().err


@pytest.mark.unit
def test_generate_writes_contract_records(tmp_path: Path) -> None:
    params, out = tmp_path / "gen.npz", tmp_path / "tx.jsonl"
    assert main(["generate", "-n", "0", "--save-params", str(params)]) == 0
    assert main(["generate", "-n", "300", "--fraud-ratio", "0.1", "--params", str(params), "--out", str(out)]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(parse_batch(records, max_batch=300)) == 300
