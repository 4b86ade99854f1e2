"""`lfd`: the one command-line entry point of live-fraud-detector on a developer's machine.

An entry-point layer: it imports each area's small ``cli`` module explicitly (they import nothing heavy
until a subcommand runs, so ``lfd --help`` is instant) and hands them the local stack's endpoints as
defaults. The areas never import this package; images run ``python -m <area>`` instead.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from fraud_operator import cli as operator_cli
from lfd.drift import cli as drift_cli
from lfd.streaming import cli as streaming_cli
from lfd.training import cli as training_cli
from scoring import cli as scoring_cli

from . import images_cli, stack_cli, stream_cli
from .settings import load_settings

DESCRIPTION = """\
live-fraud-detector: real-time card-fraud scoring on Kubernetes.

Typical local session:
  lfd stack up            start Kafka, a Kubernetes control plane, MLflow, Prometheus (make up)
  lfd stack status        see what is healthy and where (make status)
  lfd stack down          stop everything by PID (make down)
  lfd stack up node       a real node (containerd + kubelet + kube-proxy) for real pods
  lfd images build        our images with buildah (no registry), for that node

Every subcommand has its own --help with examples.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lfd", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    local = load_settings()
    # Order is the order in `lfd --help`.
    stack_cli.register(subparsers)
    images_cli.register(subparsers)
    streaming_cli.register(subparsers, bootstrap=local.kafka_bootstrap)
    stream_cli.register(subparsers, bootstrap=local.kafka_bootstrap)
    operator_cli.register(subparsers)
    training_cli.register(subparsers, fallback_tracking_uri=local.mlflow_uri)
    scoring_cli.register(subparsers, fallback_tracking_uri=local.mlflow_uri)
    drift_cli.register(
        subparsers, bootstrap=local.kafka_bootstrap, tracking_uri=local.mlflow_uri, prometheus_url=local.prometheus_url
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
