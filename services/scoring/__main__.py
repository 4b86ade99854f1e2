"""``python -m scoring [serve options]``: the container entry point.

Same options as ``lfd serve`` but without importing the other areas' CLIs or the dev stack, so the
serving image needs only the serving dependencies.
"""

from __future__ import annotations

import sys

from lfd.area_entry import run

from .cli import register

if __name__ == "__main__":
    sys.exit(run("python -m scoring", register, command="serve"))
