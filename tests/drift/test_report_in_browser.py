"""Evidently's HTML report opened in headless Chromium: it renders (the table of drifted columns is in
the DOM scripts built), no script error reaches the console, and a screenshot is written.

Chromium gets no network: every host name resolves to nothing (``--host-resolver-rules``), so the page
must be self-contained (it is: scripts inline) and nothing leaves the machine.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lfd.contract import FEATURES
from lfd.drift.evidently_report import run_report
from lfd.training.data import DEFAULT_DATA, load_labelled

pytestmark = pytest.mark.integration

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=20000",
    "--window-size=1400,1800",
)


def chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("chromium not on PATH: `make setup` installs Debian's chromium")
    argv = [binary, *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300)


def console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "CONSOLE" in line and re.search(r"Uncaught|Error", line)]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = load_labelled(DEFAULT_DATA)[list(FEATURES)].sample(frac=1.0, random_state=1).reset_index(drop=True)
    reference, current = rows.iloc[:3000], rows.iloc[3000:4000].copy()
    current["V3"] = current["V3"] + 2.0

    def scores(frame: pd.DataFrame) -> list[float]:
        return list(1.0 / (1.0 + np.exp(3.0 + frame["V14"].to_numpy() + frame["V17"].to_numpy())))

    out = tmp_path_factory.mktemp("report") / "drift.html"
    return run_report(reference, scores(reference), current, scores(current), out).html


def test_report_renders_without_script_errors_and_is_screenshotted(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    done = chromium(report, tmp_path / "profile-shot", f"--screenshot={shot}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.stat().st_size > 30_000  # a blank 1400x1800 page compresses to a few KB
    assert console_errors(done.stderr) == []
    dom = chromium(report, tmp_path / "profile-dom", "--dump-dom")
    # Only the rendered page has table cells naming the test Evidently used (the raw file holds JSON).
    assert re.search(r"<td[^>]*>(<[^>]+>)*[^<]*Wasserstein", dom.stdout), "the report's table did not render"


def test_a_script_error_would_be_caught(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text("<html><body><p>x</p><script>throw new Error('boom')</script></body></html>")
    done = chromium(page, tmp_path / "profile", f"--screenshot={tmp_path / 'broken.png'}")
    assert any("boom" in line for line in console_errors(done.stderr))
