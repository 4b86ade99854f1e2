"""Port choice for processes we start: outside the kernel's ephemeral range, never handed out twice."""

from __future__ import annotations

import random
import socket
from pathlib import Path

import pytest

from lfd_dev import ports


@pytest.mark.unit
def test_candidates_avoid_the_ephemeral_range_and_the_stacks_fixed_ports() -> None:
    candidates = list(ports.candidate_ports((32768, 60999), random.Random(1)))
    assert candidates, "there must be candidates"
    assert all(not 32768 <= p <= 60999 for p in candidates)
    assert min(candidates) >= ports.LOWEST > 19092  # Kafka, the API server, MLflow, Prometheus live below
    assert len(set(candidates)) == len(candidates)


@pytest.mark.unit
def test_ephemeral_range_is_read_from_proc_or_defaults(tmp_path: Path) -> None:
    custom = tmp_path / "range"
    custom.write_text("40000\t50000\n")
    assert ports.ephemeral_range(custom) == (40000, 50000)
    assert ports.ephemeral_range(tmp_path / "missing") == ports.DEFAULT_EPHEMERAL
    custom.write_text("garbage")
    assert ports.ephemeral_range(custom) == ports.DEFAULT_EPHEMERAL


@pytest.mark.unit
def test_free_port_skips_busy_ports_and_never_repeats() -> None:
    refused: list[int] = []

    def busy_first_three(port: int, host: str) -> bool:
        if len(refused) < 3:
            refused.append(port)
            return False
        return True

    first = ports.free_port(probe=busy_first_three)
    assert first not in refused
    seen = {ports.free_port(probe=lambda port, host: True) for _ in range(50)}
    assert first not in seen and len(seen) == 50
    low, high = ports.ephemeral_range()
    assert all(not low <= p <= high for p in seen | {first})


@pytest.mark.unit
def test_is_free_sees_a_real_listener() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = listener.getsockname()[1]
        assert not ports.is_free(taken)
    assert ports.is_free(ports.free_port())
