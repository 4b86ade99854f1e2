"""`lfd stack`: start, check and stop the local stack."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lfd_dev.process import StartError

EPILOG = """\
components: etcd kube-apiserver kube-controller-manager kube-scheduler kwok kubectl helm
            kafka flink mlflow prometheus
groups:     kubernetes (the whole control plane), kafka, flink, mlflow, prometheus, helm

examples:
  lfd stack up                     everything, in dependency order
  lfd stack up kafka mlflow        only what you need
  lfd stack status                 one line per component; exit 1 if any is unhealthy
  lfd stack env                    shell exports (KUBECONFIG, MLFLOW_TRACKING_URI, ...):
                                   eval "$(lfd stack env)"
  lfd stack down                   stop everything (by PID; data is kept in .stack/)

Artifacts are installed by `make setup` (stack/install.sh) into $LFD_CACHE
(default ~/.cache/live-fraud-detector); runtime data and logs go to $LFD_STATE (default ./.stack).
Ports can be moved with LFD_PORT_<NAME>, e.g. LFD_PORT_KAFKA=29092.
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "stack",
        help="start, check and stop the local stack (Kafka, Kubernetes, MLflow, Prometheus, Flink, helm)",
        description="Manage the real local stack that tests and the demo run against.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action, text in (
        ("up", "start components (all by default) and wait until healthy"),
        ("down", "stop components (all by default)"),
        ("status", "show health of components; exit 1 if any is unhealthy"),
    ):
        sub = actions.add_parser(
            action, help=text, description=text, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        sub.add_argument("components", nargs="*", help="component or group names (default: all)")
        sub.set_defaults(handler=_handle)
    env = actions.add_parser("env", help="print shell exports for the running stack")
    env.set_defaults(handler=_handle, components=[])


def _handle(args: argparse.Namespace) -> int:
    from lfd_dev import manager
    from lfd_dev.settings import load_settings

    settings = load_settings()
    try:
        if args.action == "up":
            manager.up(
                settings,
                args.components,
                on_started=lambda name, secs: print(f"  {name:<24} healthy ({secs:.1f}s)", flush=True),
            )
            print(f"stack up; logs in {settings.logs}; `lfd stack env` for exports")
            return 0
        if args.action == "down":
            stopped = manager.down(settings, args.components)
            print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")
            return 0
        if args.action == "env":
            print(env_exports(settings))
            return 0
        statuses = manager.status(settings, args.components)
        for s in statuses:
            mark = "ok  " if s.health.healthy else "DOWN"
            print(f"  [{mark}] {s.name:<24} {s.health.detail}")
        return 0 if all(s.health.healthy for s in statuses) else 1
    except (StartError, ValueError) as exc:
        print(f"lfd stack {args.action}: {exc}", file=sys.stderr)
        return 1


def env_exports(settings: Any) -> str:
    return "\n".join(
        [
            f"export KUBECONFIG={settings.kubeconfig}",
            f"export MLFLOW_TRACKING_URI={settings.mlflow_uri}",
            f"export LFD_KAFKA_BOOTSTRAP={settings.kafka_bootstrap}",
            f"export LFD_PROMETHEUS_URL={settings.prometheus_url}",
            f'export PATH="{settings.bin}:$PATH"',
        ]
    )
