"""The real scoring service (``lfd serve``) as a child process: started on free ports, waited for
until ready, stopped or killed as a whole process tree. One implementation for the tests, the
benchmarks and anything else that needs a private scoring service on this machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from scoring.portcheck import PORT_IN_USE_EXIT

from .ports import free_port
from .process import signal_tree


class ScoringStartError(RuntimeError):
    """The service exited or did not become ready in time; the message carries its log tail."""


@dataclass
class ScoringProcess:
    """``lfd serve <args>`` on 127.0.0.1. Ports are chosen free unless given; ``start_ready`` retries on
    fresh ports when a chosen one was taken meanwhile, while a restart keeps the ports it has."""

    args: list[str]
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    http_port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def start(self) -> ScoringProcess:
        """Launch without waiting (for tests that look at the service before it is ready)."""
        argv = [sys.executable, "-m", "lfd_dev.cli", "serve", *self.args, "--host", "127.0.0.1",
                "--http-port", str(self.http_port), "--grpc-port", str(self.grpc_port)]  # fmt: skip
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **self.env}, start_new_session=True
            )
        return self

    def start_ready(self, timeout_s: float = 180.0, port_retries: int = 2) -> ScoringProcess:
        """Launch and wait until ready, moving to fresh ports if a chosen one was taken meanwhile."""
        self.start()
        self.wait_ready(timeout_s, port_retries)
        return self

    def wait_live(self, timeout_s: float = 180.0) -> None:
        self._wait("/v2/health/live", timeout_s)

    def wait_ready(self, timeout_s: float = 180.0, port_retries: int = 0) -> None:
        """Wait for ``/v2/health/ready``. With ``port_retries`` > 0, a launch that found a port taken
        is relaunched on fresh ports (never for a restart: callers there depend on the old URL)."""
        for retries_left in range(port_retries, -1, -1):
            try:
                self._wait("/v2/health/ready", timeout_s)
                return
            except ScoringStartError:
                assert self.process is not None
                if self.process.returncode != PORT_IN_USE_EXIT or retries_left == 0:
                    raise
            self.http_port, self.grpc_port = free_port(), free_port()
            self.start()

    def _wait(self, path: str, timeout_s: float) -> None:
        assert self.process is not None, "start() first"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ScoringStartError(f"lfd serve exited {self.process.returncode}:\n{self.log_tail()}")
            if "Application startup failed" in self.log_tail():
                self.kill()  # BentoML's arbiter would respawn the worker forever; fail now, loudly
                raise ScoringStartError(f"lfd serve failed to start:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + path, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise ScoringStartError(f"{self.url}{path} not 200 within {timeout_s:.0f} s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""

    def stop(self, timeout_s: float = 20.0) -> None:
        """Graceful: SIGTERM to the arbiter and its workers (own sessions), SIGKILL if they linger."""
        if self.process is None or self.process.poll() is not None:
            return
        signal_tree(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """Abrupt, like a crashed pod: SIGKILL to the whole process tree at once."""
        if self.process is None:
            return
        if self.process.poll() is None:
            signal_tree(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        else:
            signal_tree(self.process.pid, signal.SIGKILL)  # its process group may outlive the arbiter
