"""Choosing ports for processes we start on this machine (test services, benchmarks).

Why not ``bind(("127.0.0.1", 0))``: the kernel answers from its *ephemeral* range, the same range it
hands out to outgoing connections. Between choosing the port and the child process binding it (seconds
for a BentoML worker), a Kafka client or a JVM can take that port as the local end of a connection, and
the child fails with "address already in use" (seen in CI). Ports below the ephemeral range are never
taken that way, so we choose there and only race against other listeners.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from pathlib import Path

from scoring.portcheck import is_free

EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
#: Linux's default ephemeral range, used when /proc is not readable (e.g. macOS uses 49152-65535).
DEFAULT_EPHEMERAL = (32768, 60999)
#: The lowest port we hand out; below it live the stack's fixed ports (19092, 16443, 15000, 19090...).
LOWEST = 20000

#: Ports this process already handed out: never give the same one twice, even if it is not bound yet.
_handed_out: set[int] = set()


def ephemeral_range(path: Path = EPHEMERAL_RANGE_FILE) -> tuple[int, int]:
    try:
        low, high = (int(part) for part in path.read_text().split())
        return low, high
    except (OSError, ValueError):
        return DEFAULT_EPHEMERAL


def candidate_ports(ephemeral: tuple[int, int], rng: random.Random, lowest: int = LOWEST) -> Iterable[int]:
    """Ports outside the ephemeral range, in random order (pure: decides, never binds)."""
    low, high = ephemeral
    pool = [p for p in range(lowest, 65536) if not low <= p <= high]
    rng.shuffle(pool)
    return pool


def free_port(host: str = "127.0.0.1", *, probe: Callable[[int, str], bool] = is_free) -> int:
    """A port outside the ephemeral range that is free now and not handed out before by this process."""
    for port in candidate_ports(ephemeral_range(), random.Random()):
        if port not in _handed_out and probe(port, host):
            _handed_out.add(port)
            return port
    raise RuntimeError(f"no free port on {host} outside the ephemeral range {ephemeral_range()}")
