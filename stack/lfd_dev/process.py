"""Start and stop long-running processes by pid file: the only place the stack touches processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path


class StartError(RuntimeError):
    """A component did not become healthy; the message names it and points at its log."""


def read_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if is_alive(pid) else None


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); treat it as dead.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def spawn(
    name: str,
    argv: Sequence[str | os.PathLike[str]],
    *,
    pid_file: Path,
    log_file: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    """Start ``argv`` detached in its own session, logging to ``log_file``; record its pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        log.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {name}: {list(map(str, argv))}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            [str(a) for a in argv],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            start_new_session=True,  # own process group: stop() can end its children too
        )
    pid_file.write_text(str(proc.pid))
    return proc.pid


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (read from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def signal_tree(pid: int, sig: signal.Signals) -> None:
    """Signal ``pid``'s process group and every descendant, including those that started a session of
    their own (BentoML's workers do: signalling only the group would leave them serving)."""
    targets = [pid, *descendants(pid)]
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
    for target in targets:
        with contextlib.suppress(ProcessLookupError):
            os.kill(target, sig)


def stop(pid_file: Path, *, timeout: float = 20.0) -> bool:
    """SIGTERM the process tree recorded in ``pid_file``, SIGKILL after ``timeout``. True if it ran."""
    pid = read_pid(pid_file)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    tree = [pid, *descendants(pid)]
    signal_tree(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(is_alive(p) for p in tree):
        _reap(pid)
        time.sleep(0.1)
    survivors = [p for p in tree if is_alive(p)]
    if survivors:
        for p in survivors:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
        for _ in range(50):
            _reap(pid)
            if not any(is_alive(p) for p in survivors):
                break
            time.sleep(0.1)
    pid_file.unlink(missing_ok=True)
    return True


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def wait_until(
    check: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    pid_file: Path | None = None,
    log_file: Path | None = None,
    interval: float = 0.25,
) -> None:
    """Poll ``check`` until true; fail fast with the log's tail if the process died meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if pid_file is not None and read_pid(pid_file) is None:
            raise StartError(f"{what}: process exited during start-up.{_tail(log_file)}")
        time.sleep(interval)
    raise StartError(f"{what}: not healthy after {timeout:.0f}s.{_tail(log_file)}")


def _tail(log_file: Path | None, lines: int = 25) -> str:
    if log_file is None or not log_file.exists():
        return ""
    text = log_file.read_text(errors="replace").splitlines()[-lines:]
    return f"\n--- last {len(text)} lines of {log_file} ---\n" + "\n".join(text)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0
