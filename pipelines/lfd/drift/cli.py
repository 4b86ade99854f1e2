"""`lfd drift`, `lfd monitor`, `lfd replay`, `lfd dashboard`: the closed loop from the command line.

Endpoints come from flags, then the environment (``KAFKA_BOOTSTRAP``, ``MLFLOW_TRACKING_URI``,
``PROMETHEUS_URL``), then what the ``lfd`` entry point passed to ``register`` (the local stack's);
this package never imports the dev tooling.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

from lfd.drift.endpoints import FALLBACK
from lfd.drift.endpoints import endpoint as _endpoint

MONITOR_EPILOG = """\
examples:
  lfd monitor --metrics-port 9464                        gauges only (drift every 5 min, labels, shadow)
  lfd monitor --retrain --fraudmodel default/fraud-detector --cooldown 3600
                                                         ... and retrain + update the FraudModel on a breach
"""
REPLAY_EPILOG = """\
examples:
  lfd replay --count 5000 --rate 200 --label-delay 10              real rows + labels 10 s later
  lfd replay --count 6000 --shift features --shift-after 3000      feature drift from row 3000 on
  lfd replay --count 6000 --shift labels --shift-after 3000        labels-only decay (features unchanged)
"""


def register(subparsers: Any, *, bootstrap: str = "", tracking_uri: str = "", prometheus_url: str = "") -> None:
    """Add ``drift``, ``monitor``, ``replay``, ``dashboard``; the keyword arguments are fallbacks used when
    neither a flag nor the environment says where Kafka, MLflow and Prometheus are."""
    FALLBACK.update(bootstrap=bootstrap, tracking_uri=tracking_uri, prometheus=prometheus_url)
    fmt = argparse.RawDescriptionHelpFormatter
    drift = subparsers.add_parser(
        "drift",
        help="one Evidently drift check of recent transactions vs the champion's reference sample",
        description="Read the newest --window scored transactions from Kafka, run Evidently "
        "(DataDriftPreset + the score distribution) against the reference sample stored with "
        "fraud-detector@champion, save the HTML report, log it to MLflow, print the summary.",
        formatter_class=fmt,
    )
    _common(drift)
    drift.add_argument("--window", type=int, default=2000, help="transactions compared (default: %(default)s)")
    drift.add_argument("--report-dir", type=Path, default=Path("drift-reports"), help="default: %(default)s")
    drift.add_argument("--no-mlflow", action="store_true", help="do not log the report to MLflow")
    drift.set_defaults(handler=_drift)

    monitor = subparsers.add_parser(
        "monitor",
        help="long-running: label quality, drift, champion vs challenger gauges; optional retraining",
        description="Consume transactions, scores, scores-shadow and labels; export Prometheus gauges "
        "on --metrics-port; run Evidently every --drift-every seconds; with --retrain, a breach that "
        "passes the trigger's hysteresis and cooldown retrains, registers @challenger and updates the "
        "FraudModel (the operator's gates decide promotion).",
        epilog=MONITOR_EPILOG,
        formatter_class=fmt,
    )
    _common(monitor)
    monitor.add_argument("--metrics-port", type=int, default=9464, help="default: %(default)s")
    monitor.add_argument("--drift-every", type=float, default=300.0, help="seconds (default: %(default)s)")
    monitor.add_argument("--drift-window", type=int, default=2000, help="default: %(default)s")
    monitor.add_argument("--label-window", type=int, default=5000, help="default: %(default)s")
    monitor.add_argument("--report-dir", type=Path, default=Path("drift-reports"), help="default: %(default)s")
    monitor.add_argument("--retrain", action="store_true", help="retrain when the trigger fires")
    monitor.add_argument("--fraudmodel", default=None, help="NAMESPACE/NAME to point at the new @challenger")
    monitor.add_argument("--reference-data", type=Path, default=None, help="labelled CSV the champion learnt from")
    monitor.add_argument("--retrain-budget", type=float, default=60.0, help="tuning seconds (default: %(default)s)")
    monitor.add_argument(
        "--cooldown", type=float, default=3600.0, help="seconds between retrains (default: %(default)s)"
    )
    monitor.add_argument("--consecutive", type=int, default=2, help="breaches in a row to fire (default: %(default)s)")
    monitor.add_argument(
        "--drift-on", type=float, default=0.3, help="drifted share that breaches (default: %(default)s)"
    )
    monitor.add_argument("--drift-off", type=float, default=0.15, help="share that re-arms (default: %(default)s)")
    monitor.add_argument(
        "--min-frauds", type=int, default=20, help="labelled frauds before decay counts (default: %(default)s)"
    )
    monitor.set_defaults(handler=_monitor)

    replay = subparsers.add_parser(
        "replay",
        help="produce real transactions and, after a delay, their labels (optionally shifted)",
        description="Replay the dev rows into `transactions` and each row's label into `labels` "
        "--label-delay seconds later; --shift features|labels changes the stream from --shift-after on.",
        epilog=REPLAY_EPILOG,
        formatter_class=fmt,
    )
    replay.add_argument("--bootstrap", default=None, help="Kafka bootstrap (default: $KAFKA_BOOTSTRAP or the stack's)")
    replay.add_argument("--count", type=int, default=5000, help="default: %(default)s")
    replay.add_argument(
        "--rate", type=float, default=200.0, help="transactions per second, 0 = max (default: %(default)s)"
    )
    replay.add_argument("--label-delay", type=float, default=5.0, help="seconds (default: %(default)s)")
    replay.add_argument("--shift", choices=("none", "features", "labels"), default="none")
    replay.add_argument("--shift-after", type=int, default=0, help="first shifted row (default: %(default)s)")
    replay.add_argument("--flip-share", type=float, default=0.02, help="labels shift: share of legit made fraud")
    replay.add_argument("--seed", type=int, default=0)
    replay.add_argument("--run-id", default=None, help="id prefix (default: random)")
    replay.set_defaults(handler=_replay)

    from lfd.drift.dashboard_cli import register as register_dashboard

    register_dashboard(subparsers)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bootstrap", default=None, help="Kafka bootstrap (default: $KAFKA_BOOTSTRAP or the stack's)")
    p.add_argument("--tracking-uri", default=None, help="MLflow (default: $MLFLOW_TRACKING_URI or the stack's)")
    p.add_argument("--model-name", default="fraud-detector", help="registered model (default: %(default)s)")


def _drift(args: argparse.Namespace) -> int:
    import mlflow

    from lfd.drift.champion import load_champion
    from lfd.drift.evidently_report import run_report
    from lfd.drift.kafka_window import recent_scored

    mlflow.set_tracking_uri(_endpoint(args.tracking_uri, "MLFLOW_TRACKING_URI", "tracking_uri"))
    bootstrap = _endpoint(args.bootstrap, "KAFKA_BOOTSTRAP", "bootstrap")
    champion = load_champion(args.model_name)
    print(
        f"champion: {args.model_name} version {champion.version}; reading the newest {args.window} scored transactions"
    )
    current, scores = recent_scored(bootstrap, args.window)
    try:
        result = run_report(
            champion.reference, champion.reference_scores, current, scores, args.report_dir / "drift.html"
        )
    except ValueError as exc:
        print(f"lfd drift: {exc}", file=sys.stderr)
        return 1
    s = result.summary
    print(
        f"{s.current_rows} transactions vs {s.reference_rows} reference rows: {100 * s.share_drifted:.0f}% of features drifted"
    )
    print(f"drifted: {', '.join(s.drifted_features) or 'none'}")
    if s.score is not None:
        print(f"score distribution: {s.score.method} {s.score.score:.3f} (drifted: {s.score.drifted})")
    print(f"report: {result.html}")
    if not args.no_mlflow:
        from lfd.drift.tracking import log_drift

        print(f"MLflow run: {log_drift(result, args.model_name, champion.version)}")
    return 0


def _monitor(args: argparse.Namespace) -> int:
    import logging
    import signal
    import threading

    import mlflow

    from lfd.drift.champion import load_champion
    from lfd.drift.gauges import Gauges
    from lfd.drift.monitor import Monitor, MonitorConfig, run
    from lfd.drift.retrain import RetrainConfig
    from lfd.drift.trigger import Policy

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uri = _endpoint(args.tracking_uri, "MLFLOW_TRACKING_URI", "tracking_uri")
    mlflow.set_tracking_uri(uri)
    retrain = None
    if args.retrain:
        from lfd.training.defaults import DEFAULT_DATA

        namespace, _, name = (args.fraudmodel or "").partition("/")
        retrain = RetrainConfig(
            tracking_uri=uri,
            reference_data=args.reference_data or DEFAULT_DATA,
            time_budget=args.retrain_budget,
            model_name=args.model_name,
            namespace=namespace or None,
            fraudmodel=name or None,
        )
    config = MonitorConfig(
        bootstrap=_endpoint(args.bootstrap, "KAFKA_BOOTSTRAP", "bootstrap"),
        model_name=args.model_name,
        label_window=args.label_window,
        drift_window=args.drift_window,
        drift_every_s=args.drift_every,
        report_dir=args.report_dir,
        policy=Policy(
            drift_on=args.drift_on,
            drift_off=args.drift_off,
            min_frauds=args.min_frauds,
            consecutive=args.consecutive,
            cooldown_s=args.cooldown,
        ),
        retrain=retrain,
    )
    gauges = Gauges()
    gauges.serve(args.metrics_port)
    champion = load_champion(args.model_name)
    print(f"lfd monitor: champion version {champion.version}; metrics on :{args.metrics_port}/metrics", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        run(Monitor(config, gauges, champion), stop)
    return 0


def _replay(args: argparse.Namespace) -> int:
    import uuid

    from lfd.drift.replay import send
    from lfd.drift.shift import Shift, apply
    from lfd.streaming.produce import load_rows

    try:
        shift = Shift(args.shift, args.shift_after, args.flip_share, args.seed)
    except ValueError as exc:
        print(f"lfd replay: {exc}", file=sys.stderr)
        return 1
    rows = load_rows()
    picked = [(rows[n % len(rows)].features, rows[n % len(rows)].fraud) for n in range(args.count)]
    run_id = args.run_id or f"rp-{uuid.uuid4().hex[:8]}"
    bootstrap = _endpoint(args.bootstrap, "KAFKA_BOOTSTRAP", "bootstrap")
    report = send(
        bootstrap,
        apply(picked, run_id, shift),
        rate=args.rate,
        label_delay_s=args.label_delay,
        progress=lambda n: print(f"  {n} transactions sent", flush=True),
    )
    print(
        f"replayed {report.transactions} transactions ({report.frauds} labelled fraud) and {report.labels} labels "
        f"in {report.seconds:.1f}s; ids {run_id}-*; shift {args.shift} from row {args.shift_after}"
    )
    return 0
