"""`lfd train`, `lfd promote`, `lfd generate`: thin handlers over the training steps.

Arguments are parsed here and turned into a ``TrainConfig``; every error a user can fix (bad data,
unreachable MLflow, nothing to promote) is printed as one line naming the cause, exit code 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from lfd.constants import EXPERIMENT, MODEL_NAME, STREAM_FRAUD_RATIO
from lfd.training.defaults import DEFAULT_DATA, DEFAULT_MIN_VALIDATION_PR_AUC, DEFAULT_REVIEW_COST
from lfd.training.defaults import DEFAULT_TIME_BUDGET as DEFAULT_BUDGET

TRAIN_EPILOG = f"""\
what it does:
  1. load + validate the labelled CSV (columns Time, V1..V28, Amount, Class)
  2. split: by time (train on earlier Time, test on the latest 20%) or stratified
  3. tune XGBoost and LightGBM with Optuna, each on half the time budget; the objective is PR-AUC
     with every legitimate row weighted x7.749 (the real stream's fraud rate, see the data README)
  4. choose the threshold minimising expected cost on validation rows:
     missed fraud = its Amount (EUR), false alarm = --review-cost (default EUR 5)
  5. evaluate on the test rows (the metrics logged and reported: held-out)
  6. refit each family on ALL labelled rows (train + test) with the tuned parameters and rounds,
     so the model users get has seen the most data (--no-refit: keep the evaluated model)
  7. log one MLflow run per family (metrics + plots + pyfunc model, tag lfd.refit_on_all_rows)
  8. register the winner as fraud-detector@challenger: LightGBM (preferred) unless XGBoost beats it
     on the validation folds by more than the fold spread (--selection best: higher mean wins)

examples:
  lfd stack up mlflow && lfd train                       default: dev data, {DEFAULT_BUDGET:.0f}s tuning, register
  lfd train --time-budget 30 --no-register               a quick look, nothing registered
  lfd train --data ~/creditcard.csv --split stratified   the full Kaggle file, random split
  lfd train --review-cost 10 --seed 7                    dearer reviews -> higher threshold
  lfd promote                                            champion := current challenger

default data: {DEFAULT_DATA}
"""

PROMOTE_EPILOG = """\
examples:
  lfd promote                 move @champion to the version @challenger points at
  lfd promote --version 3     move @champion to version 3 (e.g. roll back)
"""

GENERATE_EPILOG = """\
Synthetic rows come from a class-conditional Gaussian copula fitted on the real rows (marginals and
correlations per class). For load tests and the demo stream only: never for quality claims.

examples:
  lfd generate -n 1000 --out tx.jsonl                          contract wire records, 0.167% fraud
  lfd generate -n 50000 --fraud-ratio 0.01 --labels --out tx.csv
  lfd generate --save-params gen.npz -n 0                       fit once, reuse with --params gen.npz
"""


def _formatter() -> dict[str, Any]:
    return {"formatter_class": argparse.RawDescriptionHelpFormatter}


def register(subparsers: Any, *, fallback_tracking_uri: str = "") -> None:
    """Add ``train``, ``promote``, ``generate``. ``fallback_tracking_uri``: MLflow used when neither
    --tracking-uri nor $MLFLOW_TRACKING_URI is given (the ``lfd`` entry point passes the local stack's)."""
    _register_train(subparsers, fallback_tracking_uri)
    _register_promote(subparsers, fallback_tracking_uri)
    _register_generate(subparsers)


def _add_tracking(parser: argparse.ArgumentParser, fallback_tracking_uri: str) -> None:
    parser.add_argument(
        "--tracking-uri",
        default=None,
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else the local stack's)",
    )
    parser.add_argument("--model-name", default=MODEL_NAME, help="registered model name (default: %(default)s)")
    parser.set_defaults(fallback_tracking_uri=fallback_tracking_uri)


def _register_train(subparsers: Any, fallback_tracking_uri: str) -> None:
    p = subparsers.add_parser(
        "train",
        help="train XGBoost + LightGBM, log to MLflow, register the winner",
        description="Train and compare the fraud models on labelled transactions.",
        epilog=TRAIN_EPILOG,
        **_formatter(),
    )
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="labelled CSV or CSV.gz (default: dev sample)")
    p.add_argument(
        "--time-budget",
        type=float,
        default=DEFAULT_BUDGET,
        metavar="SECONDS",
        help="Optuna tuning time over all families (default: %(default)s; whole run <= 5 min on 2 cores)",
    )
    p.add_argument(
        "--register",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="register the winner as <model-name>@challenger (default: yes)",
    )
    p.add_argument("--split", choices=("time", "stratified"), default="time", help="default: %(default)s")
    p.add_argument("--test-fraction", type=float, default=0.2, help="share of rows held out (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed for splits, samplers and boosters (default: %(default)s)")
    p.add_argument("--trials", type=int, default=None, help="cap Optuna trials per family (reproducible runs)")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per booster (default: %(default)s; on 20k rows a second OpenMP thread gains little "
        "and stalls badly when the cores are shared)",
    )
    p.add_argument("--families", default="xgboost,lightgbm", help="comma-separated (default: %(default)s)")
    p.add_argument(
        "--folds", type=int, default=4, help="validation folds inside the training part (default: %(default)s)"
    )
    p.add_argument(
        "--selection",
        choices=("robust", "best"),
        default="robust",
        help="robust: keep the default parameters unless a trial beats them by more than the fold spread, and "
        "the preferred family (lightgbm) unless the other beats it likewise; best: the highest mean validation "
        "score for both choices (chases noise on ~100 frauds) (default: %(default)s)",
    )
    p.add_argument(
        "--review-cost", type=float, default=DEFAULT_REVIEW_COST, help="EUR per false alarm (default: %(default)s)"
    )
    p.add_argument(
        "--missed-fraud-factor",
        type=float,
        default=1.0,
        help="a missed fraud costs factor x Amount ... (default: %(default)s)",
    )
    p.add_argument("--missed-fraud-fixed-cost", type=float, default=0.0, help="... + this EUR (default: %(default)s)")
    p.add_argument(
        "--refit",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="after evaluation, refit the logged/registered models on all labelled rows (train + test); "
        "metrics stay those of the held-out rows (default: yes)",
    )
    p.add_argument(
        "--use-time-feature",
        action="store_true",
        help="let models split on Time (off: Time is seconds into a 2-day capture, it does not generalise)",
    )
    p.add_argument(
        "--min-pr-auc",
        type=float,
        default=DEFAULT_MIN_VALIDATION_PR_AUC,
        help="register only if the winner's weighted validation PR-AUC reaches this (default: %(default)s)",
    )
    p.add_argument("--experiment", default=EXPERIMENT, help="MLflow experiment (default: %(default)s)")
    p.add_argument("--output-dir", type=Path, default=None, help="keep bundles and plots here (default: a temp dir)")
    _add_tracking(p, fallback_tracking_uri)
    p.set_defaults(handler=_train)


def _register_promote(subparsers: Any, fallback_tracking_uri: str) -> None:
    p = subparsers.add_parser(
        "promote",
        help="move the @champion alias (default: to the current @challenger)",
        description="Point fraud-detector@champion at a registered version.",
        epilog=PROMOTE_EPILOG,
        **_formatter(),
    )
    p.add_argument("--version", default=None, help="version to promote (default: the @challenger version)")
    _add_tracking(p, fallback_tracking_uri)
    p.set_defaults(handler=_promote)


def _register_generate(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "generate",
        help="synthetic transactions fitted on the real rows (load tests, demo)",
        description="Generate synthetic contract records.",
        epilog=GENERATE_EPILOG,
        **_formatter(),
    )
    p.add_argument("-n", "--rows", type=int, default=1000, help="rows to generate (default: %(default)s)")
    p.add_argument(
        "--fraud-ratio", type=float, default=STREAM_FRAUD_RATIO, help="share of frauds (default: %(default)s)"
    )
    p.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="real rows to fit on (default: dev sample)")
    p.add_argument("--params", type=Path, default=None, help="load fitted parameters (.npz) instead of fitting")
    p.add_argument("--save-params", type=Path, default=None, help="write the fitted parameters (.npz)")
    p.add_argument("--labels", action="store_true", help="include the Class column (not part of the wire contract)")
    p.add_argument("--out", default="-", help=".jsonl or .csv file, or - for JSON lines on stdout (default)")
    p.set_defaults(handler=_generate)


def tracking_uri(explicit: str | None, fallback: str = "") -> str:
    """--tracking-uri, else $MLFLOW_TRACKING_URI, else ``fallback`` (empty: MLflow's own default)."""
    return explicit or os.environ.get("MLFLOW_TRACKING_URI") or fallback


def _require_reachable(uri: str) -> None:
    """Fail fast with a fix instead of MLflow's minutes of retries."""
    if not uri.startswith("http"):
        return
    import urllib.request

    try:
        urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=5).close()
    except OSError as exc:
        raise ConnectionError(
            f"MLflow at {uri} is not reachable ({exc}); start it with `lfd stack up mlflow` or pass --tracking-uri"
        ) from exc


def _train(args: argparse.Namespace) -> int:
    from lfd.contract import ContractViolation
    from lfd.training.pipeline import run
    from lfd.training.report import TrainConfig
    from lfd.training.threshold import CostModel

    try:
        uri = tracking_uri(args.tracking_uri, args.fallback_tracking_uri)
        _require_reachable(uri)
        config = TrainConfig(
            data=args.data,
            time_budget=args.time_budget,
            families=tuple(args.families.split(",")),
            split_method=args.split,
            test_fraction=args.test_fraction,
            seed=args.seed,
            costs=CostModel(args.review_cost, args.missed_fraud_factor, args.missed_fraud_fixed_cost),
            tracking_uri=uri,
            register=args.register,
            model_name=args.model_name,
            experiment=args.experiment,
            min_validation_pr_auc=args.min_pr_auc,
            max_trials=args.trials,
            threads=args.threads,
            use_time=args.use_time_feature,
            refit_on_all_rows=args.refit,
            output_dir=args.output_dir,
            folds=args.folds,
            selection=args.selection,
        )
        report = run(config)
    except (ContractViolation, ValueError, FileNotFoundError, ConnectionError) as exc:
        print(f"lfd train: {exc}", file=sys.stderr)
        return 1
    print(report.split.describe())
    print(report.table())
    print(f"winner: {report.winner} ({report.winner_reason}); took {report.seconds:.0f}s")
    if report.registration_refused:
        print(f"lfd train: {report.registration_refused}", file=sys.stderr)
        return 1
    if args.refit:
        rows = len(report.split.train) + len(report.split.test)
        print(f"metrics above: held-out test rows; the logged models were then refit on all {rows} labelled rows")
    if report.registered_version:
        print(f"registered {args.model_name} version {report.registered_version} as @challenger")
    print(f"MLflow: {uri} (experiment {args.experiment}, parent run {report.parent_run_id})")
    return 0


def _promote(args: argparse.Namespace) -> int:
    from lfd.training.register import RegistryError, promote

    try:
        uri = tracking_uri(args.tracking_uri, args.fallback_tracking_uri)
        _require_reachable(uri)
        import mlflow

        mlflow.set_tracking_uri(uri)
        version = promote(args.model_name, args.version)
    except (RegistryError, ConnectionError) as exc:
        print(f"lfd promote: {exc}", file=sys.stderr)
        return 1
    print(f"{args.model_name}@champion -> version {version}")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from lfd.contract import ContractViolation
    from lfd.synthetic import SyntheticGenerator, to_records

    try:
        if args.params is not None:
            generator = SyntheticGenerator.load(args.params)
        else:
            from lfd.training.data import load_labelled

            generator = SyntheticGenerator.fit(load_labelled(args.data))
        if args.save_params is not None:
            generator.save(args.save_params)
        frame = generator.sample(args.rows, args.fraud_ratio, args.seed)
    except (ContractViolation, ValueError, FileNotFoundError) as exc:
        print(f"lfd generate: {exc}", file=sys.stderr)
        return 1
    _write(frame, args.out, args.labels, to_records)
    return 0


def _write(frame: Any, out: str, labels: bool, to_records: Any) -> None:
    import json

    if out.endswith(".csv"):
        (frame if labels else frame.drop(columns=["Class"])).to_csv(out, index=False)
        return
    records = to_records(frame)
    if labels:
        for record, label in zip(records, frame["Class"], strict=True):
            record["Class"] = int(label)
    lines = "".join(json.dumps(r) + "\n" for r in records)
    if out == "-":
        sys.stdout.write(lines)
    else:
        Path(out).write_text(lines)
