"""Prometheus rules: `promtool check rules` and `promtool test rules`, each alert firing and not firing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
RULES = sorted((REPO / "stack" / "prometheus" / "rules").glob("*.yml"))
TESTS = REPO / "stack" / "prometheus" / "tests" / "rules.test.yml"
#: The issue's list: every one of these must exist as an alert (and be tested below).
REQUIRED_ALERTS = {
    "FraudScoringErrorsHigh",
    "FraudScoringLatencyHigh",
    "FraudAlertRateAnomaly",
    "FeatureDriftHigh",
    "LabelPrAucDrop",
    "ConsumerLagHigh",
    "FlinkJobRestarting",
    "FlinkCheckpointsFailing",
    "OperatorReconcileErrors",
    "RolloutStuck",
}


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool not on PATH: `make setup` installs Debian's prometheus (which ships promtool)")
    return found


def alerts() -> set[str]:
    names = set()
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            names |= {r["alert"] for r in group["rules"] if "alert" in r}
    return names


def _cases() -> list[dict[str, Any]]:
    return [case for test in yaml.safe_load(TESTS.read_text())["tests"] for case in test["alert_rule_test"]]


@pytest.mark.unit
def test_promtool_checks_every_rule_file() -> None:
    done = subprocess.run([promtool(), "check", "rules", *map(str, RULES)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.unit
def test_promtool_rule_unit_tests_pass() -> None:
    done = subprocess.run([promtool(), "test", "rules", str(TESTS)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.unit
def test_the_issue_s_alerts_exist_and_each_is_tested_firing_and_not_firing() -> None:
    assert alerts() >= REQUIRED_ALERTS, f"missing alerts: {REQUIRED_ALERTS - alerts()}"
    cases = _cases()
    for name in alerts():
        mine = [c for c in cases if c["alertname"] == name]
        assert any(c["exp_alerts"] for c in mine), f"{name}: no case where it fires"
        assert any(not c["exp_alerts"] for c in mine), f"{name}: no case where it stays quiet"


@pytest.mark.unit
def test_a_wrong_expectation_fails(tmp_path: Path) -> None:
    """The harness can fail: expecting silence where the error alert fires makes promtool exit non-zero."""
    suite = yaml.safe_load(TESTS.read_text())
    suite["rule_files"] = [str(p) for p in RULES]
    first = suite["tests"][0]
    first["alert_rule_test"] = [{"eval_time": "6m", "alertname": "FraudScoringErrorsHigh", "exp_alerts": []}]
    suite["tests"] = [first]
    wrong = tmp_path / "wrong.test.yml"
    wrong.write_text(yaml.safe_dump(suite))
    done = subprocess.run([promtool(), "test", "rules", str(wrong)], capture_output=True, text=True)
    assert done.returncode != 0 and "FraudScoringErrorsHigh" in done.stdout + done.stderr
