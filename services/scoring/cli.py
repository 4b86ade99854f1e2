"""``lfd serve``: start the scoring service (HTTP on --http-port, OIP v2 gRPC on --grpc-port).

Registered by the ``lfd`` entry point (``lfd_dev.cli``) and by ``python -m scoring`` (the image); imports
nothing heavy until the command runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from .config import DEFAULT_GRPC_PORT, DEFAULT_HTTP_PORT, DEFAULT_MAX_BATCH, DEFAULT_MODEL_URI

DESCRIPTION = """\
Serve the fraud model: POST /score (scores + top-3 reason codes), Open Inference Protocol v2 over
REST (/v2/...) and gRPC (inference.GRPCInferenceService), Prometheus metrics on /metrics, OpenAPI
docs on / — all from one BentoML worker that loads the model once and batches both protocols together.

The model comes from the MLflow registry (--model-uri, resolved alias -> version at start) or from
a local bundle / downloaded MLflow model directory (--model-dir, what container images use).
The process is live at once and ready (/v2/health/ready, /readyz, gRPC ServerReady) only after the
model loaded and a warm-up prediction succeeded.
"""

EPILOG = """\
examples:
  lfd serve                                          # champion of the local stack's registry
  lfd serve --model-uri models:/fraud-detector/3     # a pinned version
  lfd serve --model-dir ./bundle --http-port 8080    # a bundle directory, no registry needed
  curl -s localhost:3000/v2/health/ready
  curl -s -XPOST localhost:3000/score -H 'content-type: application/json' \\
       -d '{"transactions": [{"id": "t1", "Time": 0, "V1": 1.19, ..., "V28": 0.01, "Amount": 2.69}]}'

exit status 75: --http-port or --grpc-port is already in use (checked before the server starts).

BentoML keeps its state in $BENTOML_HOME (default here: ~/bentoml/lfd-serve-<http port>, so that two
services on one machine never share — and wipe — each other's Prometheus metrics).

environment: every option maps to LFD_SCORING_<NAME> (e.g. LFD_SCORING_MAX_QUEUE_ROWS); MLFLOW_TRACKING_URI
is used when --tracking-uri is not given.
"""


def register(subparsers: Any, *, fallback_tracking_uri: str = "") -> None:
    """Add ``serve``. ``fallback_tracking_uri``: MLflow used when neither --tracking-uri nor
    $MLFLOW_TRACKING_URI is given (the ``lfd`` entry point passes the local stack's; the image none)."""
    parser = subparsers.add_parser(
        "serve",
        help="serve the fraud model over HTTP and gRPC (BentoML)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--model-uri", help=f"MLflow model URI (default: $LFD_SCORING_MODEL_URI or {DEFAULT_MODEL_URI})"
    )
    parser.add_argument(
        "--model-dir", help="serve this local bundle directory instead (default: $LFD_SCORING_MODEL_DIR)"
    )
    parser.add_argument(
        "--tracking-uri", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else the local stack's MLflow)"
    )
    parser.add_argument("--host", default="0.0.0.0", help="bind address for both servers (default: %(default)s)")
    parser.add_argument("--http-port", type=int, default=DEFAULT_HTTP_PORT, help="HTTP port (default: %(default)s)")
    parser.add_argument("--grpc-port", type=int, default=DEFAULT_GRPC_PORT, help="gRPC port (default: %(default)s)")
    parser.add_argument(
        "--max-batch",
        type=int,
        help=f"largest accepted request batch (default: $LFD_SCORING_MAX_BATCH or {DEFAULT_MAX_BATCH})",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        help="decide fraud at this probability instead of the model's own threshold ($LFD_SCORING_THRESHOLD)",
    )
    parser.add_argument("--access-log", action="store_true", help="log every request (off: it costs latency)")
    parser.set_defaults(handler=run, fallback_tracking_uri=fallback_tracking_uri)


def serve_command(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """The ``bentoml serve`` argv and environment for these options (pure; tested)."""
    from .config import ScoringConfig

    config = ScoringConfig.from_env()  # options given on the command line win over LFD_SCORING_* variables
    given = {
        "model_uri": args.model_uri,
        "model_dir": os.path.abspath(args.model_dir) if args.model_dir else None,
        "tracking_uri": args.tracking_uri,
        "max_batch": args.max_batch,
        "threshold": args.threshold,
    }
    overrides = {k: v for k, v in given.items() if v is not None}
    if args.model_uri is not None and args.model_dir is None:
        overrides["model_dir"] = ""  # an explicit --model-uri beats a model dir from the environment (images)
    config = ScoringConfig(**{**vars(config), **overrides, "grpc_host": args.host, "grpc_port": args.grpc_port})
    if not config.tracking_uri:
        config = ScoringConfig(**{**vars(config), "tracking_uri": getattr(args, "fallback_tracking_uri", "")})
    env = {**os.environ, **config.to_env()}
    env["LFD_SCORING_ACCESS_LOG"] = "true" if args.access_log else "false"
    if "BENTOML_HOME" not in os.environ:
        # Every `bentoml serve` empties $BENTOML_HOME/prometheus_multiproc_dir at start: two services
        # sharing the default home would wipe (and then report) each other's metrics.
        env["BENTOML_HOME"] = os.path.join(os.path.expanduser("~"), "bentoml", f"lfd-serve-{args.http_port}")
    argv = [sys.executable, "-m", "bentoml", "serve", "scoring.service:FraudScoring",
            "--host", args.host, "--port", str(args.http_port)]  # fmt: skip
    return argv, env


def busy_ports(args: argparse.Namespace, is_free: Callable[[int, str], bool]) -> list[str]:
    """One message per port option that cannot be bound, naming the option (empty: all free)."""
    wanted = {"--http-port": args.http_port, "--grpc-port": args.grpc_port}
    if args.http_port == args.grpc_port:
        return [f"--http-port and --grpc-port are both {args.http_port}: they must differ"]
    return [f"{flag} {port}: {args.host}:{port} is already in use" for flag, port in wanted.items()
            if not is_free(port, args.host)]  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from .portcheck import PORT_IN_USE_EXIT, is_free

    # Checked before BentoML starts: a bind failure inside its worker is retried forever by the
    # arbiter, leaving a process that is up but never ready instead of an error.
    if problems := busy_ports(args, is_free):
        for problem in problems:
            print(f"lfd serve: {problem}", file=sys.stderr)
        return PORT_IN_USE_EXIT
    argv, env = serve_command(args)
    model = env["LFD_SCORING_MODEL_DIR"] or f"{env['LFD_SCORING_MODEL_URI']} from {env['LFD_SCORING_TRACKING_URI']}"
    print(f"lfd serve: HTTP on {args.host}:{args.http_port}, gRPC on {args.host}:{args.grpc_port}, model {model}",
          file=sys.stderr, flush=True)  # fmt: skip
    os.execve(argv[0], argv, env)  # replace this process: signals and exit code are BentoML's own
