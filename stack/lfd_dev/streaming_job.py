"""Run the job locally as a subprocess of the streaming environment (``lfd stream``, tests, bench, demo).

The job is a PyFlink MiniCluster inside one process, so "cancel" is ending that process; resuming
means starting it again with ``restore_from`` = the newest retained checkpoint.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from lfd.streaming.config import StreamConfig, to_argv


def job_command(config: StreamConfig, python: Path, connector_jar: Path) -> tuple[list[str], dict[str, str]]:
    """argv and environment of ``python -m lfd.streaming.job`` in the streaming environment (pure)."""
    argv = [str(python), "-m", "lfd.streaming.job", *to_argv(config), "--connector-jar", str(connector_jar)]
    return argv, {**os.environ, "PATH": f"{python.parent}:{os.environ['PATH']}"}


def latest_checkpoint(checkpoint_dir: Path) -> Path | None:
    """The newest completed checkpoint (``<job-id>/chk-N`` with ``_metadata``) under ``checkpoint_dir``."""
    done = [p.parent for p in checkpoint_dir.glob("*/chk-*/_metadata")]
    if not done:
        return None
    return max(done, key=lambda p: (p.stat().st_mtime, int(re.sub(r"\D", "", p.name) or 0)))


@dataclass
class LocalJob:
    config: StreamConfig
    python: Path
    connector_jar: Path
    log: Path
    env: dict[str, str] = field(default_factory=dict)  # on top of this process's environment (e.g. TZ)
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def flink_log_dir(self) -> Path:
        """The MiniCluster's own log (JobMaster, task state changes): by default PyFlink writes it into the
        shared ``pyflink/log`` of the environment, where concurrent jobs overwrite each other's."""
        return self.log.parent / f"{self.log.stem}-flink"

    def start(self, restore_from: Path | None = None) -> None:
        config = replace(self.config, restore_from=str(restore_from) if restore_from else None)
        argv, env = job_command(config, self.python, self.connector_jar)
        env.update(self.env)
        env["FLINK_LOG_DIR"] = str(self.flink_log_dir)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout_s: float = 15.0, hard: bool = False) -> None:
        """End the job's process group (the JVM and its Python workers), SIGKILL after ``timeout_s``.
        ``hard``: SIGKILL at once (a crashed machine: open Kafka transactions stay open, nothing closes)."""
        if self.process is None or self.process.poll() is not None:
            return
        pgid = os.getpgid(self.process.pid)
        os.killpg(pgid, signal.SIGKILL if hard else signal.SIGTERM)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.process.wait(10)
        time.sleep(0.5)  # let the Python workers of the group go too

    def checkpoint_after(self, since: float, timeout_s: float = 60.0) -> Path:
        """Wait for a checkpoint completed after ``since`` (epoch seconds) and return it."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            newest = latest_checkpoint(Path(self.config.checkpoint_dir))
            if newest is not None and newest.stat().st_mtime > since:
                return newest
            if not self.alive():
                raise RuntimeError(f"job exited with {self.process and self.process.returncode}; see {self.log}")
            time.sleep(0.5)
        raise TimeoutError(f"no checkpoint after {since} within {timeout_s} s in {self.config.checkpoint_dir}")

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def flink_log(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.flink_log_dir.glob("*.log")))

    def task_attempts(self) -> int:
        """How many times a task of this job was deployed: 1 when it never failed over (every task line of
        the log carries ``(i/n)#<attempt>``; a restart — full or of one region — deploys attempt #1).
        0 when no task was deployed yet."""
        attempts = [int(a) for a in re.findall(r"\(\d+/\d+\)#(\d+) ", self.flink_log())]
        return max(attempts) + 1 if attempts else 0
