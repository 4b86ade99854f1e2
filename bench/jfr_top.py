"""Where a JVM spends its CPU, from a Java Flight Recorder file: samples per thread and per top frame.

Used on the streaming job's JVM (PyFlink's local mini-cluster) to split the Kafka source, the Arrow hand-over
to Python and the Kafka sink:

    jcmd <pid> JFR.start duration=20s filename=/tmp/job.jfr settings=profile   # while the load runs
    .venv/bin/python bench/jfr_top.py /tmp/job.jfr --top 25 > bench/results/streaming-jvm.jfr.txt

``jdk.ExecutionSample`` only samples threads running Java code (every ~10-20 ms with ``settings=profile``), so
the per-thread counts are CPU shares, not wall time.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

_NUMBER = re.compile(r"[-#]?\d+$")


def thread_group(name: str) -> str:
    """Flink names task threads '<operator chain> (1/1)#0': keep the chain, drop the subtask numbering."""
    return _NUMBER.sub("", re.sub(r" \(\d+/\d+\)#\d+$", "", name)).strip()


def frame_name(frame: dict[str, Any]) -> str:
    method = frame["method"]
    return f"{method['type']['name']}.{method['name']}"


def summarise(events: list[dict[str, Any]], top: int) -> str:
    by_thread: collections.Counter[str] = collections.Counter()
    by_frame: collections.Counter[str] = collections.Counter()
    by_package: collections.Counter[str] = collections.Counter()
    for event in events:
        values = event["values"]
        thread = values.get("sampledThread") or {}
        by_thread[thread_group(thread.get("javaName") or thread.get("osName") or "?")] += 1
        frames = (values.get("stackTrace") or {}).get("frames") or []
        if frames:
            name = frame_name(frames[0])
            by_frame[name] += 1
            by_package[".".join(re.split(r"[./]", name)[:3])] += 1  # JFR writes types as a/b/C
    total = sum(by_thread.values()) or 1
    lines = [f"{total} execution samples"]
    for title, counter in (("threads", by_thread), ("top frames (self)", by_frame), ("packages (self)", by_package)):
        lines += ["", f"## {title}"]
        lines += [f"{100 * n / total:6.1f} %  {n:6d}  {name}" for name, n in counter.most_common(top)]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recording", type=Path, help="a .jfr file")
    parser.add_argument("--top", type=int, default=20, help="rows per table (default 20)")
    args = parser.parse_args(argv)
    out = subprocess.run(["jfr", "print", "--json", "--events", "jdk.ExecutionSample", str(args.recording)],
                         check=True, capture_output=True, text=True)  # fmt: skip
    sys.stdout.write(summarise(json.loads(out.stdout)["recording"]["events"], args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
