"""`lfd operator`: run the FraudModel operator, or print its CRD."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Mapping
from typing import Any

from fraud_operator.analysis.resolver import SERVICE_ADDRESSES
from fraud_operator.config import OperatorConfig

DESCRIPTION = """\
Run the FraudModel operator (kopf): it reconciles FraudModels into blue/green scoring Deployments, a stable
and a preview Service and an HPA, and rolls new models out behind smoke, quality and SLO gates.

Run exactly one replica (it is --standalone: no peering). It keeps no state outside the cluster, so a
restart mid-rollout resumes where it stopped.
"""

EPILOG = """\
examples:
  lfd operator crd | kubectl apply -f -                  install (or update) the CRD
  lfd operator run --namespace fraud                     watch one namespace (least privilege: a Role)
  lfd operator run --all-namespaces --log-format json    cluster-wide, structured logs
  lfd operator run -n test --service-map map.json \\
      --prometheus-url http://127.0.0.1:19090            tests: analyses reach local scoring processes
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "operator",
        help="run the FraudModel operator (blue-green model rollouts)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="operator_command", metavar="ACTION", required=True)
    run = sub.add_parser(
        "run",
        help="run the operator in the foreground",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    scope = run.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", action="append", default=[], help="namespace to watch (repeatable)")
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="watch every namespace (ClusterRole)")
    run.add_argument("--service-map", default="", help="JSON file mapping <ns>/<deployment> to a local URL (tests)")
    run.add_argument(
        "--service-address",
        choices=SERVICE_ADDRESSES,
        default=None,
        help="how analyses reach a Service: its DNS name (default) or its ClusterIP read from the API (no cluster DNS)",
    )
    run.add_argument("--prometheus-url", default=None, help="Prometheus queried by the SLO analysis")
    run.add_argument(
        "--replay-set",
        default=None,
        help="labelled CSV(.gz) replayed by the quality analysis: a path or an http(s) URL (e.g. an MLflow artifact)",
    )
    run.add_argument("--mlflow-tracking-uri", default=None, help="MLFLOW_TRACKING_URI given to scoring pods")
    run.add_argument("--scoring-service-account", default=None, help="ServiceAccount of the scoring pods")
    run.add_argument("--metrics-port", type=int, default=None, help="operator /metrics port (0 = off; default 9108)")
    run.add_argument("--interval", type=float, default=None, help="seconds between reconciles (default 2)")
    run.add_argument("--liveness", default="http://0.0.0.0:8080/healthz", help="kopf liveness endpoint ('' = off)")
    run.add_argument("--log-format", choices=("plain", "full", "json"), default="full", help="log format")
    run.add_argument("--verbose", action="store_true", help="debug logging")
    run.set_defaults(handler=_run)
    crd = sub.add_parser("crd", help="print the FraudModel CRD (generated from the pydantic models)")
    crd.set_defaults(handler=_crd)


def config_from_args(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> OperatorConfig:
    """Pure: the operator's settings, from ``LFD_OPERATOR_*`` variables overridden by the flags given."""
    flags = {
        "service_map": args.service_map,
        "service_address": args.service_address,
        "prometheus_url": args.prometheus_url,
        "replay_set": args.replay_set,
        "mlflow_tracking_uri": args.mlflow_tracking_uri,
        "scoring_service_account": args.scoring_service_account,
        "metrics_port": args.metrics_port,
        "interval": args.interval,
    }
    return dataclasses.replace(OperatorConfig.from_env(env), **{k: v for k, v in flags.items() if v not in (None, "")})


def _run(args: argparse.Namespace) -> int:
    import kopf

    from fraud_operator.handlers import build_registry

    registry = build_registry(config_from_args(args))

    kopf.configure(verbose=args.verbose, log_format=kopf.LogFormat[args.log_format.upper()], log_prefix=True)
    kopf.run(
        registry=registry,
        standalone=True,
        clusterwide=args.all_namespaces,
        namespaces=args.namespace or ["default"],
        liveness_endpoint=args.liveness or None,
    )
    return 0


def _crd(args: argparse.Namespace) -> int:
    from fraud_operator.crd import render

    sys.stdout.write(render())
    return 0
