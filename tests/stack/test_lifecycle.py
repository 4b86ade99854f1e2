"""`lfd stack up|status|down` on an isolated state directory and ports: healthy when up, nothing left
running (by PID, port closed) when down."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lfd_dev import process
from lfd_dev.ports import free_port

pytestmark = pytest.mark.integration


def lfd(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lfd_dev.cli", "stack", *args], capture_output=True, text=True, env=env, timeout=180
    )


def test_up_status_down_leaves_nothing_running(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "LFD_STATE": str(tmp_path / "state"), "LFD_PORT_PROMETHEUS": str(port)}

    assert lfd(env, "status", "prometheus").returncode == 1  # not started yet: unhealthy, exit 1
    up = lfd(env, "up", "prometheus")
    assert up.returncode == 0, up.stderr
    status = lfd(env, "status", "prometheus")
    assert status.returncode == 0 and "[ok  ] prometheus" in status.stdout
    pid = process.read_pid(tmp_path / "state" / "pids" / "prometheus.pid")
    assert pid is not None and process.port_open(port)

    down = lfd(env, "down", "prometheus")
    assert down.returncode == 0 and "stopped: prometheus" in down.stdout
    assert not process.is_alive(pid)
    assert not process.port_open(port)
    assert lfd(env, "status", "prometheus").returncode == 1
