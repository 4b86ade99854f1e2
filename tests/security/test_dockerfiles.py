"""checkov on every Dockerfile of the repository (the same pinned checkov that scans the rendered chart:
`stack/install.sh checkov`). Zero failed checks; a waiver is a ``# checkov:skip=<ID>:<why>`` comment in the
Dockerfile itself, next to what it waives."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lfd_dev.settings import Settings

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def test_checkov_passes_every_dockerfile(stack_settings: Settings) -> None:
    dockerfiles = sorted(p for p in REPO.rglob("Dockerfile") if not any(part.startswith(".") for part in p.parts))
    assert len(dockerfiles) >= 2, dockerfiles
    command = [str(stack_settings.tool("checkov")), "--framework", "dockerfile", "--quiet", "--compact", "-o", "json"]
    for dockerfile in dockerfiles:
        command += ["-f", str(dockerfile.relative_to(REPO))]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900)
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    summary = reports[0]["summary"]
    assert summary["resource_count"] == len(dockerfiles) and summary["parsing_errors"] == 0, summary
    failed = [
        f"{f['file_path']}: {f['check_id']} {f['check_name']}" for r in reports for f in r["results"]["failed_checks"]
    ]
    print(f"checkov dockerfile: {summary}")
    assert not failed, "\n".join(failed)


def healthcheck_command(dockerfile: Path) -> list[str]:
    """The exec-form ``HEALTHCHECK ... CMD [...]`` of a Dockerfile (continuation lines joined)."""
    text = dockerfile.read_text().replace("\\\n", " ")
    lines = [line for line in text.splitlines() if line.startswith("HEALTHCHECK ")]
    assert len(lines) == 1, f"{dockerfile}: expected one HEALTHCHECK, found {len(lines)}"
    command: list[str] = json.loads(lines[0].split(" CMD ", 1)[1])
    return command


def test_scoring_image_healthcheck_answers_ready_and_fails_when_down(hardened_service: Any) -> None:
    """The HEALTHCHECK's own command, run against the real service (port 3000 swapped for the test's port):
    exit 0 while it is ready, non-zero against a port nobody serves."""
    from lfd_dev.ports import free_port

    command = healthcheck_command(REPO / "services" / "scoring" / "Dockerfile")
    assert command[0] == "python" and "127.0.0.1:3000/" in command[-1], command

    def run(port: int) -> int:
        probe = [sys.executable, *command[1:-1], command[-1].replace(":3000/", f":{port}/")]
        return subprocess.run(probe, capture_output=True, timeout=30).returncode

    assert run(hardened_service.http_port) == 0
    assert run(free_port()) != 0
