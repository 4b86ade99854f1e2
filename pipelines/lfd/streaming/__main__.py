"""``python -m lfd.streaming produce ...``: the producer without the dev stack (same options as
``lfd produce``). The job itself is ``python -m lfd.streaming.job``."""

from __future__ import annotations

import sys

from lfd.area_entry import run
from lfd.streaming.cli import register

if __name__ == "__main__":
    sys.exit(run("python -m lfd.streaming", register))
