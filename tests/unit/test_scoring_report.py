"""The scoring benchmark's verdict against MLServer (issue 11): pure, over a results dict."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from scoring_report import peer_verdicts


def run(rate: float, p99: float, rows: int, errors: float = 0.0) -> dict[str, Any]:
    return {"target_rate": rate, "achieved_rate": rate, "transactions_per_s": rate * rows, "p99_ms": p99,
            "p50_ms": p99 / 2, "error_rate": errors}  # fmt: skip


def entry(label: str, kind: str, runs: list[dict[str, Any]], peer: str = "") -> dict[str, Any]:
    return {"label": label, "kind": kind, "baseline": bool(peer), "peer": peer, "runs": runs}


def test_ours_is_judged_at_the_peers_p99() -> None:
    paths = {
        "peer": entry("MLServer batch", "batch", [run(5, 9.0, 100), run(10, 30.0, 100, errors=0.2)], "mlserver"),
        # ours: 30 req/s only at p99 12 ms (> MLServer's 9 ms), so 20 req/s counts: 2,000 vs 500 tx/s
        "ours": entry("ours batch", "batch", [run(20, 8.0, 100), run(30, 12.0, 100)]),
    }
    at_slo, at_peer_p99 = peer_verdicts(paths)
    assert "**met**" in at_peer_p99 and "4.0x" in at_peer_p99 and "(batch, at MLServer's best" in at_peer_p99
    # at p99 <= 10 ms: MLServer 5 req/s (9 ms), ours 20 req/s (8 ms)
    assert "**met**" in at_slo and "4.0x" in at_slo and "(batch, both at p99 <= 10 ms)" in at_slo


def test_the_two_readings_differ_when_the_peer_saturates_without_errors() -> None:
    paths = {
        # MLServer: 6 req/s within the SLO; 8 req/s error-free but queueing (p99 400 ms)
        "peer": entry("MLServer batch", "batch", [run(6, 6.0, 100), run(8, 400.0, 100)], "mlserver"),
        "ours": entry("ours batch", "batch", [run(12, 5.0, 100), run(14, 700.0, 100)]),
    }
    at_slo, at_peer_p99 = peer_verdicts(paths)
    assert "**met**" in at_slo and "2.0x" in at_slo
    assert "**not met**" in at_peer_p99 and "1.5x" in at_peer_p99


def test_below_twice_the_peer_is_not_met_and_missing_kinds_are_skipped() -> None:
    paths = {
        "peer": entry("MLServer single", "single", [run(100, 5.0, 1)], "mlserver"),
        "ours": entry("ours single", "single", [run(150, 4.0, 1)]),
        "ours_batch": entry("ours batch", "batch", [run(20, 8.0, 100)]),  # no peer batch path: no verdict
    }
    lines = peer_verdicts(paths)
    assert len(lines) == 2 and all("**not met**" in line and "1.5x" in line and "(single" in line for line in lines)
