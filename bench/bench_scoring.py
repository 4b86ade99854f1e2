"""`make bench-scoring` (bench/bench_scoring.py: not scoring.py, which would shadow the `scoring` package): the same registered model served four ways, under the same open-loop load, in one run.

Paths (side by side, rate-major so every path sees the same machine conditions at each rate):
  (a)  ours, HTTP single     POST /score, 1 transaction with reason codes (TreeSHAP)
  (a') ours, OIP REST single POST /v2/models/{name}/infer, [1,30] (scores only, like the baseline)
  (b)  ours, HTTP batch      POST /v2/models/{name}/infer, [100,30]; and /score with 100 transactions
  (c)  ours, gRPC single     inference.GRPCInferenceService/ModelInfer, [1,30]
  (d)  baseline              `mlflow models serve --env-manager local`, POST /invocations, 1 row

Load generator: bench/loadgen (Go, built here from the Go module proxy's grpc module): open loop at a
fixed arrival rate, latency measured from each request's *scheduled* time (wrk2 semantics, no
coordinated omission). Debian's `wrk` is closed-loop, so it cannot hold a rate; it is not used.
The generator runs on the same machine as the servers, so it competes with them for the CPU.

"Max sustained" = highest tested rate with p99 <= 10 ms, error rate <= 0.1 % and >= 95 % of the
target rate achieved. Writes bench/results/scoring.json and docs/bench-scoring.md.

  .venv/bin/python bench/bench_scoring.py --model-uri models:/fraud-detector@champion
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from lfd.contract import FEATURES
from lfd.stack.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
DEV_CSV = Path("/work/shared/data/creditcard/creditcard_dev.csv.gz")
P99_SLO_MS = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_loadgen() -> Path:
    target = load_settings().bin / "lfd-loadgen"
    source = ROOT / "bench" / "loadgen"
    newest = max(p.stat().st_mtime for p in source.iterdir())
    if not target.exists() or target.stat().st_mtime < newest:
        target.parent.mkdir(parents=True, exist_ok=True)
        print(f"building {target} from {source} (go build)", flush=True)
        subprocess.run(["go", "build", "-o", str(target), "."], cwd=source, check=True)
    return target


def pin_version(model_uri: str, tracking_uri: str) -> str:
    """Resolve an alias once so both servers load exactly the same registered version."""
    from mlflow import MlflowClient

    from scoring.model import parse_model_uri

    ref = parse_model_uri(model_uri)
    if ref.version:
        return model_uri
    try:
        version = MlflowClient(tracking_uri=tracking_uri).get_model_version_by_alias(ref.name, ref.alias).version
    except Exception as e:
        raise SystemExit(f"{model_uri}: alias not found in {tracking_uri} ({e}); train and promote first "
                         "(lfd train --register && lfd promote) or pass --model-uri models:/fraud-detector@challenger") from e  # fmt: skip
    return f"models:/{ref.name}/{version}"


@dataclass
class Server:
    name: str
    argv: list[str]
    ready_url: str
    log: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 300) -> None:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **self.env},
                                            start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.ready_url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise SystemExit(f"{self.name} not ready in {timeout_s}s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


@dataclass(frozen=True)
class Path_:
    key: str
    label: str
    mode: str  # http | grpc
    address: str
    body: Path
    rows: int  # transactions per request
    kind: str  # single | batch


def write_bodies(directory: Path, model_name: str) -> dict[str, Path]:
    from scoring.oip.generated import grpc_predict_v2_pb2 as pb

    frame = pd.read_csv(DEV_CSV, nrows=500)
    rows = frame[list(FEATURES)].astype(float)
    one = rows.iloc[0].tolist()
    hundred = rows.iloc[:100].to_numpy()
    bodies = {
        "score1": {"transactions": [{"id": "tx-0", **dict(zip(FEATURES, one, strict=True))}]},
        "score100": {"transactions": [{"id": f"tx-{i}", **dict(zip(FEATURES, r, strict=True))} for i, r in enumerate(hundred.tolist())]},
        "oip1": {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 30], "data": one}]},
        "oip100": {"inputs": [{"name": "input", "datatype": "FP32", "shape": [100, 30], "data": hundred.ravel().tolist()}]},
        "mlflow1": {"dataframe_split": {"columns": list(FEATURES), "data": [one]}},
    }  # fmt: skip
    paths = {}
    for key, body in bodies.items():
        paths[key] = directory / f"{key}.json"
        paths[key].write_text(json.dumps(body))
    import numpy as np

    request = pb.ModelInferRequest(model_name=model_name)
    request.inputs.add(name="input", datatype="FP32", shape=[1, 30])
    request.raw_input_contents.append(np.asarray([one], dtype="<f4").tobytes())
    paths["grpc1"] = directory / "grpc1.bin"
    paths["grpc1"].write_bytes(request.SerializeToString())
    return paths


def run_load(loadgen: Path, path: Path_, rate: float, duration_s: float) -> dict[str, Any]:
    target = ["-target", path.address] if path.mode == "grpc" else ["-url", path.address]
    argv = [str(loadgen), "-mode", path.mode, *target, "-body", str(path.body), "-rate", str(rate),
            "-duration", f"{duration_s}s", "-timeout", "5s"]  # fmt: skip
    out = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=duration_s + 60)
    result: dict[str, Any] = json.loads(out.stdout)
    result["transactions_per_s"] = result["achieved_rate"] * path.rows
    return result


def wait_idle(urls: list[str], limit_s: float = 20.0) -> float:
    """Wait until every server answers a health probe in < 20 ms (the previous run's backlog is gone)."""
    start = time.monotonic()
    while time.monotonic() - start < limit_s:
        try:
            slow = False
            for url in urls:
                t = time.perf_counter()
                httpx.get(url, timeout=5)
                slow = slow or time.perf_counter() - t > 0.02
            if not slow:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return time.monotonic() - start


def sustained(results: list[dict[str, Any]], p99_ms: float = P99_SLO_MS) -> dict[str, Any] | None:
    good = [r for r in results if r["p99_ms"] <= p99_ms and r["error_rate"] <= 0.001
            and r["achieved_rate"] >= 0.95 * r["target_rate"]]  # fmt: skip
    return max(good, key=lambda r: r["target_rate"]) if good else None


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "## Scoring service vs `mlflow models serve` (same registered model, same run)",
        "",
        f"Model `{report['model_uri']}`; machine: {report['machine']['cpus']} CPUs, load average (1/5/15 min) "
        f"{report['machine']['loadavg_before']} before and {report['machine']['loadavg_after']} after the run: the "
        "machine is shared with other jobs, and the load generator runs on it too. Compare paths *within* a run; "
        "absolute numbers from an oversubscribed machine say little about a dedicated pod.",
        "Errors are mostly client timeouts (5 s) once a server falls behind; `statuses` in the JSON has the split.",
        "Open loop (bench/loadgen, wrk2 semantics: latency from the scheduled send time), "
        f"{report['duration_s']:.0f} s per rate. Max sustained = highest rate with p99 <= {P99_SLO_MS:.0f} ms, "
        "errors <= 0.1 %, >= 95 % of the target rate achieved.",
        "",
        "| path | rate (req/s) | achieved (req/s) | tx/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for entry in report["paths"].values():
        for r in entry["runs"]:
            lines.append(f"| {entry['label']} | {r['target_rate']:.0f} | {r['achieved_rate']:.0f} | {r['transactions_per_s']:.0f} | "
                         f"{r['p50_ms']:.2f} | {r['p95_ms']:.2f} | {r['p99_ms']:.2f} | {100 * r['error_rate']:.1f} % |")  # fmt: skip
    lines += ["", "| path | max sustained req/s at p99 <= 10 ms (tx/s) | max rate served without errors, any p99 (tx/s, p99) |",
              "|---|---:|---:|"]  # fmt: skip
    for entry in report["paths"].values():
        best, served = sustained(entry["runs"]), sustained(entry["runs"], p99_ms=float("inf"))
        slo = f"{best['target_rate']:.0f} ({best['transactions_per_s']:.0f})" if best else "none of the tested rates"
        any_p99 = (f"{served['target_rate']:.0f} ({served['transactions_per_s']:.0f}, p99 {served['p99_ms']:.0f} ms)"
                   if served else "none of the tested rates")  # fmt: skip
        lines.append(f"| {entry['label']} | {slo} | {any_p99} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-uri", default="models:/fraud-detector@champion")
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI", "http://127.0.0.1:15000"))
    parser.add_argument("--rates", default="100,250,500,1000,2000", help="req/s for single-transaction paths")
    parser.add_argument("--batch-rates", default="50,100,250,500", help="req/s for batch-of-100 paths")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per rate")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "scoring.json")
    parser.add_argument("--markdown", type=Path, default=ROOT / "docs" / "bench-scoring.md")
    parser.add_argument("--from-json", type=Path, help="only re-render the markdown from an earlier results file")
    args = parser.parse_args(argv)
    if args.from_json:
        args.markdown.write_text(markdown(json.loads(args.from_json.read_text())))
        return 0

    loadgen = build_loadgen()
    pinned = pin_version(args.model_uri, args.tracking_uri)
    model_name = pinned.removeprefix("models:/").split("/")[0]
    work = Path(os.environ.get("TMPDIR", "/tmp")) / f"lfd-bench-scoring-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    bodies = write_bodies(work, model_name)
    http_port, grpc_port, mlflow_port = free_port(), free_port(), free_port()
    # mlflow models serve execs `uvicorn` by name: the venv must be on PATH
    env = {"MLFLOW_TRACKING_URI": args.tracking_uri, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    ours = Server("lfd serve", [sys.executable, "-m", "lfd.cli", "serve", "--model-uri", pinned, "--host", "127.0.0.1",
                                "--http-port", str(http_port), "--grpc-port", str(grpc_port)],
                  f"http://127.0.0.1:{http_port}/v2/health/ready", work / "ours.log", env)  # fmt: skip
    baseline = Server("mlflow models serve", [str(Path(sys.executable).parent / "mlflow"), "models", "serve", "-m", pinned,
                                              "--env-manager", "local", "-h", "127.0.0.1", "-p", str(mlflow_port)],
                      f"http://127.0.0.1:{mlflow_port}/ping", work / "mlflow.log", env)  # fmt: skip
    base = f"http://127.0.0.1:{http_port}"
    infer = f"{base}/v2/models/{model_name}/infer"
    paths = [
        Path_("http_score_single", "(a) ours HTTP /score, 1 tx + reasons", "http", f"{base}/score", bodies["score1"], 1, "single"),
        Path_("http_oip_single", "(a') ours OIP REST infer, 1 row", "http", infer, bodies["oip1"], 1, "single"),
        Path_("grpc_oip_single", "(c) ours gRPC ModelInfer, 1 row", "grpc", f"127.0.0.1:{grpc_port}", bodies["grpc1"], 1, "single"),
        Path_("mlflow_single", "(d) mlflow models serve, 1 row", "http", f"http://127.0.0.1:{mlflow_port}/invocations", bodies["mlflow1"], 1, "single"),
        Path_("http_oip_batch100", "(b) ours OIP REST infer, batch of 100", "http", infer, bodies["oip100"], 100, "batch"),
        Path_("http_score_batch100", "(b') ours HTTP /score, 100 tx + reasons", "http", f"{base}/score", bodies["score100"], 100, "batch"),
    ]  # fmt: skip
    loadavg_before = os.getloadavg()
    runs: dict[str, list[dict[str, Any]]] = {p.key: [] for p in paths}
    try:
        for server in (ours, baseline):
            print(f"starting {server.name} ...", flush=True)
            server.start()
        for p in paths:  # one request each: a wrong body must fail here, not as 100 % errors
            run_load(loadgen, p, 5, 1.0)
        plan = [(rate, p) for kind, rates in (("single", args.rates), ("batch", args.batch_rates))
                for rate in map(float, rates.split(",")) for p in paths if p.kind == kind]  # fmt: skip
        for i, (rate, p) in enumerate(plan, 1):
            result = run_load(loadgen, p, rate, args.duration)
            runs[p.key].append(result)
            print(f"[{i}/{len(plan)}] {p.label:42s} {rate:6.0f} req/s -> p50 {result['p50_ms']:7.2f} "
                  f"p99 {result['p99_ms']:8.2f} ms, errors {100 * result['error_rate']:5.1f} %", flush=True)  # fmt: skip
            wait_idle([f"{base}/v2/health/live", f"http://127.0.0.1:{mlflow_port}/ping"])
    finally:
        ours.stop()
        baseline.stop()
    report = {
        "model_uri": pinned,
        "duration_s": args.duration,
        "p99_slo_ms": P99_SLO_MS,
        "load_generator": "bench/loadgen (Go, open loop, latency from scheduled time)",
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "loadavg_before": [round(x, 2) for x in loadavg_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        },
        "paths": {
            p.key: {
                "label": p.label,
                "rows_per_request": p.rows,
                "runs": runs[p.key],
                "max_sustained": sustained(runs[p.key]),
            }
            for p in paths
        },
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
