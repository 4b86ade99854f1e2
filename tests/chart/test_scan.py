"""Security scan of the rendered manifests with checkov (Kubernetes framework), every ci/ scenario plus
the `helm test` hook. No failed check is tolerated: checkov (without its SaaS) reports no severities, so
every finding counts as high. A waiver is a `checkov.io/skipN: CKV_K8S_x=<why>` annotation next to the
object it waives in the template; the test requires the why."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from lfd_dev.settings import Settings
from tests.chart.helmtool import SCENARIOS, template

pytestmark = pytest.mark.unit


def _scan(settings: Settings, values: Path, out: Path) -> dict[str, Any]:
    # A real namespace: checkov flags objects in `default` (CKV_K8S_21), where no install should go.
    rendered = template(settings, "-f", str(values), "--namespace", "fraud")
    assert rendered.returncode == 0, rendered.stderr
    out.mkdir()
    (out / "manifests.yaml").write_text(rendered.stdout)
    checkov = settings.tool("checkov")
    assert checkov.exists(), f"{checkov} missing: run `make setup`"
    run = subprocess.run(
        [
            str(checkov),
            "--directory",
            str(out),
            "--framework",
            "kubernetes",
            "--output",
            "json",
            "--compact",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    # checkov exits 1 when a check fails; anything else (or no JSON) is the scanner itself failing.
    assert run.returncode in (0, 1), run.stderr[-2000:]
    report = json.loads(run.stdout)
    result: dict[str, Any] = report[0] if isinstance(report, list) else report
    return result


@pytest.mark.parametrize("values", SCENARIOS, ids=lambda p: p.name)
def test_no_unwaived_findings(stack_settings: Settings, values: Path, tmp_path: Path) -> None:
    report = _scan(stack_settings, values, tmp_path / "scan")
    results = report["results"]
    failed = [f"{c['check_id']} {c['check_name']} - {c['resource']}" for c in results["failed_checks"]]
    assert failed == [], "fix the template, or waive next to it with why:\n" + "\n".join(failed)
    assert report["summary"]["passed"] > 50, "the scan saw almost nothing: did it read the manifests?"
    skipped_checks = results.get("skipped_checks", [])
    assert len(skipped_checks) == report["summary"]["skipped"], sorted(results)
    for skipped in skipped_checks:
        reason = (skipped.get("check_result") or {}).get("suppress_comment", "")
        assert len(reason) > 20, f"waiver of {skipped['check_id']} on {skipped['resource']} gives no reason"
