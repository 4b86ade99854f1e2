"""`lfd dashboard`: render the Grafana dashboard's panels from Prometheus range queries (PNG + HTML)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "dashboard",
        help="render the Grafana dashboard's panels to a PNG and an HTML page (no Grafana needed)",
        description="Run every panel's PromQL of stack/grafana/live-fraud-detector.json as a range query "
        "against Prometheus and draw the results with matplotlib.\n\nexample:\n"
        "  lfd dashboard --minutes 30 --out dashboard/      writes dashboard/dashboard.png and .html",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--prometheus", default=None, help="URL (default: $PROMETHEUS_URL or the local stack's)")
    p.add_argument("--minutes", type=float, default=30.0, help="time range (default: %(default)s)")
    p.add_argument("--out", type=Path, default=Path("dashboard"), help="output directory (default: %(default)s)")
    p.add_argument(
        "--dashboard",
        type=Path,
        default=None,
        help="the Grafana dashboard JSON (default: $LFD_DASHBOARD, else the source checkout's "
        "charts/live-fraud-detector/files/grafana/live-fraud-detector.json)",
    )
    p.set_defaults(handler=_dashboard)


def _dashboard(args: argparse.Namespace) -> int:
    from lfd.drift.dashboard import DASHBOARD, render
    from lfd.drift.endpoints import endpoint

    dashboard = args.dashboard or Path(os.environ.get("LFD_DASHBOARD") or DASHBOARD)
    if not dashboard.is_file():
        print(
            f"lfd dashboard: --dashboard: no file at {dashboard} (pass the chart's "
            "files/grafana/live-fraud-detector.json or set $LFD_DASHBOARD)",
            file=sys.stderr,
        )
        return 2
    url = endpoint(args.prometheus, "PROMETHEUS_URL", "prometheus")
    png, html = render(url, args.out, args.minutes, dashboard=dashboard)
    print(f"dashboard: {html} ({png})")
    return 0
