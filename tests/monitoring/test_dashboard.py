"""The Grafana dashboard: every panel's PromQL parses on the live local Prometheus and names only metrics
that something in this project exports; the monitor's panels show live data; `lfd dashboard` renders."""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from lfd.drift.dashboard import metric_names, panels, render
from lfd.drift.gauges import Gauges
from lfd.drift.quality import Quality
from lfd.streaming import metrics as job_metrics
from lfd_dev.components.prometheus import register_target, unregister_target
from lfd_dev.settings import Settings

REPO = Path(__file__).resolve().parents[2]
SOURCES = [REPO / "services", REPO / "operator", REPO / "pipelines"]
#: Flink's own metrics (Prometheus reporter names), from the Flink 2.2 metrics docs: FLIP-33 source
#: backlog, job restarts, failed checkpoints. The job's own (lfd_*) come from lfd.streaming.metrics.
FLINK = {
    "flink_taskmanager_job_task_operator_pendingRecords",
    "flink_jobmanager_job_numRestarts",
    "flink_jobmanager_job_numberOfFailedCheckpoints",
}


def exported() -> set[str]:
    """Names our code registers (string literals handed to prometheus_client), recording rules, Flink's."""
    names: set[str] = set(FLINK)
    for root in SOURCES:
        for path in root.rglob("*.py"):
            names |= set(re.findall(r"[\"'](lfd_[a-z0-9_]+)[\"']", path.read_text()))
    for name in vars(job_metrics).values():
        if isinstance(name, str) and re.fullmatch(r"[a-z_]+", name):
            names.add(f"flink_taskmanager_job_task_operator_lfd_{name}")
    for rules in (REPO / "stack" / "prometheus" / "rules").glob("*.yml"):
        for group in yaml.safe_load(rules.read_text())["groups"]:
            names |= {r["record"] for r in group["rules"] if "record" in r}
    return names


def known(name: str, names: set[str]) -> bool:
    return name in names or re.sub(r"_(total|bucket|sum|count)$", "", name) in names


def _get(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=10) as response:
        body: dict[str, object] = json.load(response)
    return body


@pytest.mark.unit
def test_metric_names_are_read_from_expressions() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (protocol, le) (rate(lfd_scoring_request_duration_seconds_bucket{a="b"}[1m])))'
    )
    assert metric_names(expr) == {"lfd_scoring_request_duration_seconds_bucket"}
    assert metric_names("lfd:fraud_alert_ratio:rate5m > 3 * (x_total offset 15m)") == {
        "lfd:fraud_alert_ratio:rate5m",
        "x_total",
    }


@pytest.mark.unit
def test_a_missing_dashboard_file_is_named_with_its_flag(tmp_path: Path) -> None:
    import subprocess
    import sys

    missing = tmp_path / "nope.json"
    done = subprocess.run(
        [sys.executable, "-m", "lfd_dev.cli", "dashboard", "--dashboard", str(missing)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert f"--dashboard: no file at {missing}" in done.stderr


@pytest.mark.unit
def test_every_panel_names_only_exported_metrics() -> None:
    names = exported()
    shown = panels()
    assert len(shown) >= 12
    for panel in shown:
        for expr in panel.exprs:
            unknown = [n for n in metric_names(expr) if not known(n, names)]
            assert not unknown, f"panel {panel.title!r} names metrics nobody exports: {unknown}"


@pytest.mark.unit
def test_a_made_up_metric_is_caught() -> None:
    assert not known("lfd_made_up_metric_total", exported())


@pytest.mark.integration
def test_every_panel_parses_on_live_prometheus_and_the_monitor_panels_show_data(
    prometheus: str, stack_settings: Settings, tmp_path: Path
) -> None:
    gauges = Gauges()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gauges.serve(port, addr="127.0.0.1")
    gauges.quality([Quality("7", 1000, 30, 40, 0.62, 0.7, 0.4)], {"7": 0.81})
    register_target(stack_settings, "dashboard-test", f"127.0.0.1:{port}", {"component": "monitor"})
    try:
        for panel in panels():
            for expr in panel.exprs:
                body = _get(f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': expr})}")
                assert body["status"] == "success", f"{panel.title}: {expr}: {body}"
        deadline, data = time.monotonic() + 60, []
        while time.monotonic() < deadline and not data:
            query = urllib.parse.urlencode({"query": 'lfd_label_pr_auc_weighted{model_version="7"}'})
            data = _get(f"{prometheus}/api/v1/query?{query}")["data"]["result"]  # type: ignore[index]
            time.sleep(1)
        assert data and float(data[0]["value"][1]) == pytest.approx(0.62)
        with pytest.raises(urllib.error.HTTPError) as bad:  # the parse check can fail
            _get(f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': 'sum(rate(lfd_x[1m]'})}")
        assert bad.value.code == 400
        png, html = render(prometheus, tmp_path, minutes=5, step=2)
        assert png.stat().st_size > 10_000 and "Label-based PR-AUC vs held-out" in html.read_text()
    finally:
        unregister_target(stack_settings, "dashboard-test")
