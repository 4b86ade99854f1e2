"""Prometheus (Debian package) scraping targets that the project's processes register by file.

A process that wants to be scraped writes ``<state>/prometheus/targets/<name>.json`` (Prometheus
file service discovery); ``register_target`` does that. Rule files in ``stack/prometheus/rules/``
are loaded, and the generated configuration is checked with ``promtool`` before every start.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from lfd_dev import process
from lfd_dev.components.http_check import http_component
from lfd_dev.settings import Settings

SCRAPE_INTERVAL_S = 2  # short, so tests and the operator's SLO gate see fresh samples


def binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise process.StartError(f"{name} not found on PATH: run `make setup` (installs Debian's prometheus)")
    return found


def _root(settings: Settings) -> Path:
    return settings.state / "prometheus"


def targets_dir(settings: Settings) -> Path:
    """Where file service discovery looks: one JSON target list per file."""
    return _root(settings) / "targets"


def config(settings: Settings) -> str:
    targets = targets_dir(settings)
    rules = settings.repo / "stack" / "prometheus" / "rules"
    return f"""\
global:
  scrape_interval: {SCRAPE_INTERVAL_S}s
  evaluation_interval: {SCRAPE_INTERVAL_S}s
rule_files:
  - {rules}/*.yml
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:{settings.ports.prometheus}"]
  - job_name: lfd
    file_sd_configs:
      - files: ["{targets}/*.json"]
        refresh_interval: 1s
"""


def register_target(settings: Settings, name: str, address: str, labels: dict[str, str] | None = None) -> Path:
    """Ask Prometheus to scrape ``address`` (host:port) under ``job=lfd`` with ``labels``."""
    targets = _root(settings) / "targets"
    targets.mkdir(parents=True, exist_ok=True)
    path = targets / f"{name}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([{"targets": [address], "labels": {"instance_name": name, **(labels or {})}}]))
    tmp.replace(path)  # atomic: Prometheus never reads half a file
    return path


def unregister_target(settings: Settings, name: str) -> None:
    (_root(settings) / "targets" / f"{name}.json").unlink(missing_ok=True)


def _prepare(settings: Settings) -> None:
    (_root(settings) / "targets").mkdir(parents=True, exist_ok=True)
    cfg = _root(settings) / "prometheus.yml"
    cfg.write_text(config(settings))
    check = subprocess.run([binary("promtool"), "check", "config", str(cfg)], capture_output=True, text=True)
    if check.returncode != 0:
        raise process.StartError(f"promtool rejected {cfg}:\n{check.stdout}{check.stderr}")


def _argv(settings: Settings) -> list[str | Path]:
    root = _root(settings)
    return [
        binary("prometheus"),
        f"--config.file={root / 'prometheus.yml'}",
        f"--storage.tsdb.path={root / 'data'}",
        f"--web.listen-address=127.0.0.1:{settings.ports.prometheus}",
        "--web.enable-lifecycle",
        "--storage.tsdb.retention.time=2d",
    ]


PROMETHEUS = http_component(
    "prometheus", lambda s: s.prometheus_url, "/-/ready", "ready at", prepare=_prepare, argv=_argv
)
