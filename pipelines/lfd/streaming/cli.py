"""`lfd produce`: replay transactions into Kafka (thin handler). `lfd stream`, which runs the job on this
machine, is dev tooling: ``lfd_dev.stream_cli``."""

from __future__ import annotations

import argparse
from typing import Any

from lfd.constants import STREAM_FRAUD_RATIO
from lfd.streaming.config import DEFAULT_TOPICS

PRODUCE_EPILOG = """\
examples:
  lfd produce --count 10000 --rate 2000                 replay real dev rows at 2,000/s
  lfd produce --count 5000 --fraud-ratio 0.05 --synthetic   synthetic rows, 5% fraud
  lfd produce --count 1000 --malformed-share 0.05       5% malformed: not JSON, missing field, NaN,
                                                        wrong type, oversized (cycled evenly)
"""


def register(subparsers: Any, *, bootstrap: str | None = None) -> None:
    """Add ``produce``; ``bootstrap`` is the --bootstrap default (the ``lfd`` entry point passes the local
    stack's); without one, --bootstrap is required."""
    produce = subparsers.add_parser(
        "produce",
        help="replay real or synthetic transactions into Kafka at a fixed rate",
        description="Produce transactions (unique ids, keyed by id) into the input topic.",
        epilog=PRODUCE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    produce.add_argument(
        "--bootstrap",
        default=bootstrap,
        required=bootstrap is None,
        help="Kafka bootstrap" + (" (default: %(default)s)" if bootstrap else " (required)"),
    )
    produce.add_argument("--topic", default=DEFAULT_TOPICS["input_topic"])
    produce.add_argument("--count", type=int, default=1000)
    produce.add_argument("--rate", type=float, default=1000.0, help="records/s; 0 = as fast as possible")
    produce.add_argument(
        "--fraud-ratio", type=float, default=None, help="sample to this fraud share (default: replay in file order)"
    )
    produce.add_argument("--malformed-share", type=float, default=0.0)
    produce.add_argument(
        "--synthetic",
        action="store_true",
        help="sample rows from lfd.synthetic.SyntheticGenerator fitted on the dev rows",
    )
    produce.add_argument("--run-id", default=None, help="id prefix (default: random); ids are <run-id>-<n>")
    produce.add_argument("--seed", type=int, default=0)
    produce.set_defaults(handler=run_produce)


def run_produce(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from lfd.streaming import produce as p

    run_id = args.run_id or p.new_run_id()
    rows = (
        p.synthetic_rows(args.count, args.fraud_ratio or STREAM_FRAUD_RATIO, args.seed)
        if args.synthetic
        else p.load_rows()
    )
    planned = p.plan_records(
        rows,
        count=args.count,
        fraud_ratio=args.fraud_ratio,
        malformed_share=args.malformed_share,
        run_id=run_id,
        seed=args.seed,
    )
    with tqdm(total=args.count, unit="tx", desc=f"producing {run_id}") as bar:
        report = p.send(args.bootstrap, args.topic, planned, rate=args.rate, run_id=run_id, on_sent=bar.update)
    print(
        f"sent {report.sent} records to {args.topic} in {report.seconds:.1f} s ({report.rate:,.0f}/s): {report.kinds}"
    )
    return 0
