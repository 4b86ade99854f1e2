"""What every stack component offers the manager: start, health, stop, and a one-line status.

Most components are one long-running process: ``ProcessComponent`` describes one by four small
functions (prepare files, build argv, probe readiness, describe) and does the rest the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from lfd_dev import process
from lfd_dev.settings import Settings


@dataclass(frozen=True)
class Health:
    healthy: bool
    detail: str


class Component(Protocol):
    @property
    def name(self) -> str: ...

    def start(self, settings: Settings) -> None: ...

    def health(self, settings: Settings) -> Health: ...

    def stop(self, settings: Settings) -> bool: ...


class MissingArtifact(process.StartError):
    """A pinned artifact is not in the cache: `make setup` (stack/install.sh) was not run."""


def require(path: Path, what: str) -> Path:
    if not path.exists():
        raise MissingArtifact(f"{what} not found at {path}: run `make setup` (stack/install.sh) first")
    return path


def _nothing(settings: Settings) -> None:
    return None


@dataclass(frozen=True)
class ProcessComponent:
    """A component that is one process: started detached, probed until ready, stopped by pid."""

    name: str
    argv: Callable[[Settings], Sequence[str | Path]]
    ready: Callable[[Settings], bool]
    describe: Callable[[Settings], str]
    prepare: Callable[[Settings], None] = _nothing
    after_start: Callable[[Settings], None] = _nothing
    env: Callable[[Settings], Mapping[str, str]] = field(default=lambda s: {})
    start_timeout: float = 120.0

    def pid_file(self, settings: Settings) -> Path:
        return settings.pids / f"{self.name}.pid"

    def log_file(self, settings: Settings) -> Path:
        return settings.logs / f"{self.name}.log"

    def start(self, settings: Settings) -> None:
        if self.health(settings).healthy:
            return
        self.stop(settings)  # a half-alive leftover would hold the port
        self.prepare(settings)
        process.spawn(
            self.name,
            self.argv(settings),
            pid_file=self.pid_file(settings),
            log_file=self.log_file(settings),
            env=self.env(settings),
        )
        process.wait_until(
            lambda: self.ready(settings),
            what=self.name,
            timeout=self.start_timeout,
            pid_file=self.pid_file(settings),
            log_file=self.log_file(settings),
            interval=0.3,
        )
        self.after_start(settings)

    def health(self, settings: Settings) -> Health:
        if process.read_pid(self.pid_file(settings)) is None:
            return Health(False, "not running")
        if not self.ready(settings):
            return Health(False, "process up, not answering its health check")
        return Health(True, self.describe(settings))

    def stop(self, settings: Settings) -> bool:
        return process.stop(self.pid_file(settings))
