"""`lfd`: the one command-line entry point of live-fraud-detector.

Each area registers its own subcommand from a small module listed in ``COMMAND_MODULES``; nothing
heavy is imported until a subcommand runs, so ``lfd --help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: Modules with ``register(subparsers)``; order is the order in ``lfd --help``.
COMMAND_MODULES: tuple[str, ...] = (
    "lfd.stack.cli",
    "lfd.streaming.cli",
    "fraud_operator.cli",
    "lfd.training.cli",
    "scoring.cli",
)

DESCRIPTION = """\
live-fraud-detector: real-time card-fraud scoring on Kubernetes.

Typical local session:
  lfd stack up            start Kafka, a Kubernetes control plane, MLflow, Prometheus (make up)
  lfd stack status        see what is healthy and where (make status)
  lfd stack down          stop everything by PID (make down)

Every subcommand has its own --help with examples.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lfd", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
