"""`lfd stream`: run the PyFlink scoring job on this machine, in the streaming environment (.venv-streaming)
with the Kafka connector jar from the stack's cache. The job itself is product code (``lfd.streaming.job``);
starting it here is local tooling."""

from __future__ import annotations

import argparse
import subprocess
from typing import Any

from lfd.streaming.config import add_arguments, from_args

from .settings import load_settings
from .streaming_job import job_command

STREAM_EPILOG = """\
examples:
  lfd stream --scoring-url http://127.0.0.1:3000
  lfd stream --scoring-url http://127.0.0.1:3000 --shadow-url http://127.0.0.1:3001 \\
             --checkpoint-dir .stack/flink/checkpoints --checkpoint-interval-ms 5000
  lfd stream --restore-from .stack/flink/checkpoints/<job-id>/chk-42     resume after a cancel
  lfd stream --design async --scoring-url ...     the first, per-record design (the benchmark's baseline)

--scoring-url is the model Service's HTTP base: the (default) batched design sends one OIP v2 binary request per
batch to <url>/v2/models/<--model-name>/infer and re-opens its connection every --connection-max-age-s
seconds so a blue-green switch of the Service is followed.

The job runs in the streaming environment (.venv-streaming, PyFlink) as a local MiniCluster; on
Kubernetes the FlinkDeployment in the chart runs the same module (see docs/streaming.md).
"""


HELP = "run the PyFlink scoring job locally (Kafka → scoring service → Kafka, exactly-once)"


def register(subparsers: Any, *, bootstrap: str) -> None:
    """Add ``stream``; ``bootstrap`` (the local stack's broker) is the --bootstrap default."""
    text = {"help": HELP, "description": "Start the streaming job with the streaming environment's python."}
    stream = subparsers.add_parser(
        "stream", epilog=STREAM_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter, **text
    )
    add_arguments(stream, defaults={"bootstrap": bootstrap})
    stream.set_defaults(handler=run_stream)


def run_stream(args: argparse.Namespace) -> int:
    settings = load_settings()
    argv, env = job_command(from_args(args), settings.streaming_python, settings.flink_connector_jar)
    return subprocess.call(argv, env=env)
