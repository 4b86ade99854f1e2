"""``python -m <area>``: one small parser per product area, so an image runs its area's commands without
the dev stack or the other areas' CLIs. The ``lfd`` command (dev only, ``lfd_dev.cli``) registers the
same ``register`` functions side by side."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any


def run(prog: str, register: Callable[[Any], None], argv: Sequence[str] | None = None, *, command: str = "") -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``) with the subcommands ``register`` adds and run the chosen one.
    ``command``: the area's only subcommand, implied (``python -m scoring --http-port 3000`` = ``serve ...``)."""
    parser = argparse.ArgumentParser(prog=prog)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    register(subparsers)
    given = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args([command, *given] if command else given)
    result: int = args.handler(args)
    return result
