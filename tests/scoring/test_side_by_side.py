"""Several `lfd serve` on one machine (tests, benchmarks, a developer's laptop): a taken port is an error at
once naming the option — not a server that is up but never ready — and two services never share, and
so wipe, each other's Prometheus metrics."""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lfd_dev.scoring_process import ScoringProcess
from scoring.cli import busy_ports, serve_command
from scoring.portcheck import PORT_IN_USE_EXIT
from scoring.service import EXAMPLE_INPUT


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


@pytest.mark.unit
def test_busy_ports_names_each_taken_option() -> None:
    args = argparse.Namespace(host="127.0.0.1", http_port=3000, grpc_port=8001)
    assert busy_ports(args, lambda port, host: True) == []
    assert busy_ports(args, lambda port, host: port != 8001) == ["--grpc-port 8001: 127.0.0.1:8001 is already in use"]
    same = argparse.Namespace(host="127.0.0.1", http_port=3000, grpc_port=3000)
    assert busy_ports(same, lambda port, host: True) == ["--http-port and --grpc-port are both 3000: they must differ"]


@pytest.mark.integration
def test_lfd_serve_exits_at_once_when_the_grpc_port_is_taken(taken_port: int, bundle_dir: Path) -> None:
    argv = [sys.executable, "-m", "lfd_dev.cli", "serve", "--model-dir", str(bundle_dir), "--host", "127.0.0.1",
            "--http-port", "0", "--grpc-port", str(taken_port)]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == PORT_IN_USE_EXIT, done.stderr
    assert f"--grpc-port {taken_port}: 127.0.0.1:{taken_port} is already in use" in done.stderr


@pytest.mark.integration
def test_start_ready_moves_to_fresh_ports_when_one_was_taken(taken_port: int, bundle_dir: Path, tmp_path: Path) -> None:
    service = ScoringProcess(["--model-dir", str(bundle_dir)], tmp_path / "serve.log", grpc_port=taken_port)
    try:
        service.start_ready(timeout_s=120)
        assert service.grpc_port != taken_port
        assert "is already in use" in service.log_tail()  # the first launch said why it gave up
    finally:
        service.stop()


@pytest.mark.unit
def test_each_http_port_gets_its_own_bentoml_home_unless_one_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BENTOML_HOME", raising=False)
    args = argparse.Namespace(model_uri=None, model_dir="/m", tracking_uri="http://t", max_batch=None, threshold=None,
                              host="127.0.0.1", http_port=3001, grpc_port=8002, access_log=False)  # fmt: skip
    _, env = serve_command(args)
    assert env["BENTOML_HOME"].endswith("/bentoml/lfd-serve-3001")
    monkeypatch.setenv("BENTOML_HOME", "/srv/bentoml")
    _, env = serve_command(args)
    assert env["BENTOML_HOME"] == "/srv/bentoml"


def requests_counted(service: ScoringProcess) -> float:
    lines = httpx.get(f"{service.url}/metrics").text.splitlines()
    samples = [line for line in lines if line.startswith("lfd_scoring_requests_total{") and 'endpoint="score"' in line]
    return sum(float(line.rsplit(" ", 1)[1]) for line in samples)


@pytest.mark.integration
def test_a_second_service_does_not_wipe_the_first_ones_metrics(bundle_dir: Path, tmp_path: Path) -> None:
    first = ScoringProcess(["--model-dir", str(bundle_dir)], tmp_path / "first.log").start_ready(timeout_s=120)
    second = ScoringProcess(["--model-dir", str(bundle_dir)], tmp_path / "second.log")
    try:
        for _ in range(3):
            assert httpx.post(f"{first.url}/score", json=EXAMPLE_INPUT).status_code == 200
        assert requests_counted(first) == 3
        second.start_ready(timeout_s=120)  # sharing one BENTOML_HOME, this start emptied the first's metrics
        assert requests_counted(first) == 3
        assert requests_counted(second) == 0
    finally:
        second.stop()
        first.stop()
