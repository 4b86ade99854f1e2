"""Fuzzing summary: each fuzz test records how many cases it tried per interface and what failed;
``make fuzz`` renders that into docs/security.md between the ``fuzz-summary`` markers.

    LFD_FUZZ_SUMMARY=bench/results/fuzz.json pytest tests/security -k fuzz   # record
    python -m tests.security.summary bench/results/fuzz.json docs/security.md   # render
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

BEGIN, END = "<!-- fuzz-summary:begin -->", "<!-- fuzz-summary:end -->"


def record(interface: str, cases: int, failures: list[str]) -> None:
    """Add one interface's counts to the summary file named by ``LFD_FUZZ_SUMMARY`` (no-op without it)."""
    path = os.environ.get("LFD_FUZZ_SUMMARY")
    if not path:
        return
    file = Path(path)
    data = json.loads(file.read_text()) if file.exists() else {}
    data[interface] = {"cases": cases, "failures": failures, "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(json.dumps(data, indent=2, sort_keys=True))


def render(data: dict[str, dict[str, object]]) -> str:
    lines = ["| interface | cases tried | failures | run at |", "|---|---:|---|---|"]
    for interface, row in sorted(data.items()):
        failures = row["failures"] or ["none"]
        assert isinstance(failures, list)
        lines.append(f"| {interface} | {row['cases']:,} | {'; '.join(map(str, failures))} | {row['at']} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    summary, doc = Path(argv[0]), Path(argv[1])
    text = doc.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    doc.write_text(text[:start] + "\n" + render(json.loads(summary.read_text())) + "\n" + text[end:])
    print(f"fuzz summary written to {doc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
