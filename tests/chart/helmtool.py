"""Run the helm binary `make setup` built against the chart: template, lint, and the scan's input."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from lfd_dev.settings import Settings, load_settings

CHART = Path(__file__).resolve().parents[2] / "charts" / "live-fraud-detector"
SCENARIOS = sorted((CHART / "ci").glob("*-values.yaml"))
KUBE_VERSION = load_settings().versions["KUBERNETES_VERSION"].lstrip("v")


def helm(settings: Settings, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    binary = settings.tool("helm")
    assert binary.exists(), f"{binary} missing: run `make setup`"
    return subprocess.run([str(binary), *args], capture_output=True, text=True, env=env, timeout=180)


def template(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return helm(settings, "template", "t", str(CHART), "--kube-version", KUBE_VERSION, *args)


def render(settings: Settings, *args: str) -> list[dict[str, Any]]:
    result = template(settings, *args)
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def template_values(settings: Settings, values: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """`helm template` with these values (as a values file, exactly as a release passes them)."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        json.dump(values, f)
        f.flush()
        return template(settings, "-f", f.name)
