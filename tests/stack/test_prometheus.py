"""Prometheus smoke test: a registered target is scraped; promtool accepts the project's rule files."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, start_http_server

from lfd_dev.components.prometheus import binary, register_target, unregister_target
from lfd_dev.settings import Settings

pytestmark = pytest.mark.integration


def _query(prometheus: str, promql: str) -> list[dict[str, object]]:
    url = f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    with urllib.request.urlopen(url, timeout=5) as resp:
        body = json.load(resp)
    assert body["status"] == "success", body
    result: list[dict[str, object]] = body["data"]["result"]
    return result


def test_registered_target_is_scraped(prometheus: str, stack_settings: Settings) -> None:
    registry = CollectorRegistry()
    counter = Counter("lfd_smoke_events", "events counted by the smoke test", registry=registry)
    counter.inc(42)
    server, _thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    port = server.server_port
    register_target(stack_settings, "smoke", f"127.0.0.1:{port}", {"component": "smoke"})
    try:
        deadline = time.monotonic() + 30
        samples: list[dict[str, object]] = []
        while time.monotonic() < deadline and not samples:
            samples = _query(prometheus, 'lfd_smoke_events_total{component="smoke"}')
            time.sleep(0.5)
        assert samples, "Prometheus never scraped the registered target"
        value = samples[0]["value"]
        assert isinstance(value, list) and float(value[1]) == 42.0
    finally:
        unregister_target(stack_settings, "smoke")
        server.shutdown()


def test_promtool_checks_the_project_rules(stack_settings: Settings) -> None:
    rules = sorted((stack_settings.repo / "stack" / "prometheus" / "rules").glob("*.yml"))
    assert rules, "the project ships Prometheus rule files"
    result = subprocess.run([binary("promtool"), "check", "rules", *map(str, rules)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_rejects_a_broken_rule(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("groups:\n- name: x\n  rules:\n  - alert: Bad\n    expr: rate(foo[5m]\n")
    result = subprocess.run([binary("promtool"), "check", "rules", str(broken)], capture_output=True, text=True)
    assert result.returncode != 0
