"""`make bench-scoring` (bench/bench_scoring.py: not scoring.py, which would shadow the `scoring` package): the same registered model served several ways, under the same open-loop load, in one run.

Paths (side by side, rate-major so every path sees the same machine conditions at each rate):
  (a)  ours, HTTP single       POST /score, 1 transaction with reason codes (TreeSHAP)
  (a') ours, OIP REST single   POST /v2/models/{name}/infer, [1,30] JSON (scores only, like the baseline)
  (c)  ours, gRPC single       inference.GRPCInferenceService/ModelInfer, [1,30]
  (d)  baseline                `mlflow models serve --env-manager local` as shipped (1 uvicorn worker), 1 row
  (d') baseline, 2 workers     the same with --workers 2 (= CPUs, what MLflow's serving image defaults to)
  (b)  ours, OIP REST batch    [100,30] as JSON, and with the binary-tensor extension (what tritonclient.http sends)
  (b') ours, HTTP /score batch 100 transactions with reasons
  (c') ours, gRPC batch        ModelInfer [100,30]
  (e)  peer: MLServer 1.7.1     mlserver-xgboost on the same booster file, parallel_workers 0, its own
                                environment (stack/install.sh mlserver): OIP REST JSON and gRPC, 1 row
                                and [100,30] (bench/mlserver_peer.py)

Load generator: bench/loadgen (Go, built here from the Go module proxy's grpc module): open loop at a
fixed arrival rate, latency measured from each request's *scheduled* time (wrk2 semantics, no
coordinated omission). Debian's `wrk` is closed-loop, so it cannot hold a rate; it is not used.
The generator runs on the same machine as the servers, so it competes with them for the CPU, unless
--server-cpus/--loadgen-cpus split the cores (taskset): then every server has the same CPU to itself and
the generator another, so a path's ceiling is the server's own cost per request, not the share it wins.
Before starting, the run waits (up to --wait-load-s) for the 1-minute load average to drop to
--max-load, and records the load average of every run.

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
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from mlserver_peer import booster_file, mlserver_bin, write_repository
from scoring_report import markdown, sustained

from lfd.constants import DEV_DATA
from lfd.contract import FEATURES
from lfd_dev.ports import free_port
from lfd_dev.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
DEV_CSV = DEV_DATA


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
    """Resolve an alias once so every server loads exactly the same registered version."""
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
    baseline: bool = False
    peer: str = ""  # a peer server users would pick instead (MLServer), compared apart from the baselines
    content_type: str = "application/json"
    headers: tuple[str, ...] = ()


def oip_binary_body(matrix: np.ndarray[Any, Any]) -> tuple[bytes, int]:
    """OIP REST with Triton's binary-tensor extension: JSON header, then the raw FP32 tensor."""
    raw = np.ascontiguousarray(matrix, dtype="<f4").tobytes()
    header = json.dumps({"inputs": [{"name": "input", "datatype": "FP32", "shape": list(matrix.shape),
                                     "parameters": {"binary_data_size": len(raw)}}]}).encode()  # fmt: skip
    return header + raw, len(header)


def grpc_body(model_name: str, matrix: np.ndarray[Any, Any]) -> bytes:
    from scoring.oip.generated import grpc_predict_v2_pb2 as pb

    request = pb.ModelInferRequest(model_name=model_name)
    request.inputs.add(name="input", datatype="FP32", shape=list(matrix.shape))
    request.raw_input_contents.append(np.ascontiguousarray(matrix, dtype="<f4").tobytes())
    body: bytes = request.SerializeToString()
    return body


def write_bodies(directory: Path, model_name: str) -> tuple[dict[str, Path], int]:
    """Request bodies from real dev rows; returns the paths and the binary body's JSON header length."""
    frame = pd.read_csv(DEV_CSV, nrows=500)
    rows = frame[list(FEATURES)].astype(float)
    one = rows.iloc[0].tolist()
    hundred = rows.iloc[:100].to_numpy()
    bodies: dict[str, bytes] = {key: json.dumps(body).encode() for key, body in {
        "score1": {"transactions": [{"id": "tx-0", **dict(zip(FEATURES, one, strict=True))}]},
        "score100": {"transactions": [{"id": f"tx-{i}", **dict(zip(FEATURES, r, strict=True))} for i, r in enumerate(hundred.tolist())]},
        "oip1": {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 30], "data": one}]},
        "oip100": {"inputs": [{"name": "input", "datatype": "FP32", "shape": [100, 30], "data": hundred.ravel().tolist()}]},
        "mlflow1": {"dataframe_split": {"columns": list(FEATURES), "data": [one]}},
    }.items()}  # fmt: skip
    bodies["oip100bin"], header_length = oip_binary_body(hundred)
    bodies["grpc1"] = grpc_body(model_name, np.asarray([one]))
    bodies["grpc100"] = grpc_body(model_name, hundred)
    paths = {}
    for key, body in bodies.items():
        paths[key] = directory / f"{key}.body"
        paths[key].write_bytes(body)
    return paths, header_length


def pinned_to(cpus: str) -> list[str]:
    """argv prefix that runs a command (and every process it forks) on ``cpus`` only; none if empty."""
    return ["taskset", "--cpu-list", cpus] if cpus else []


def run_load(loadgen: Path, path: Path_, rate: float, duration_s: float, cpus: str = "") -> dict[str, Any]:
    target = ["-target", path.address] if path.mode == "grpc" else ["-url", path.address]
    headers = [arg for h in path.headers for arg in ("-header", h)]
    argv = [*pinned_to(cpus), str(loadgen), "-mode", path.mode, *target, "-body", str(path.body), "-rate", str(rate),
            "-duration", f"{duration_s}s", "-timeout", "5s", "-content-type", path.content_type, *headers]  # fmt: skip
    loadavg = os.getloadavg()[0]
    out = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=duration_s + 60)
    result: dict[str, Any] = json.loads(out.stdout)
    result["transactions_per_s"] = result["achieved_rate"] * path.rows
    result["loadavg_1m"] = round(loadavg, 2)
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


def wait_for_quiet(max_load: float, limit_s: float) -> str:
    """Wait until the 1-minute load average is <= ``max_load`` (other jobs share this machine)."""
    start = time.monotonic()
    while os.getloadavg()[0] > max_load and time.monotonic() - start < limit_s:
        print(f"load average {os.getloadavg()[0]:.2f} > {max_load}: waiting for a quieter machine ...", flush=True)
        time.sleep(15)
    waited = time.monotonic() - start
    quiet = os.getloadavg()[0] <= max_load
    return (f"started after waiting {waited:.0f} s for the 1-minute load average to drop to <= {max_load}" if quiet
            else f"the 1-minute load average stayed above {max_load} for the {limit_s:.0f} s the run waits; run anyway")  # fmt: skip


def saturated(result: dict[str, Any]) -> bool:
    """Far past capacity: higher rates would only time out (and slow the machine for the other paths)."""
    return bool(result["error_rate"] > 0.2 or result["achieved_rate"] < 0.8 * result["target_rate"])


#: XGBoost's OpenMP pool defaults to every core; ours predicts with nthread=1 (many small requests: threads
#: cost more than they give, and spinning OpenMP threads starve the event loop on 2 shared cores), so the
#: peer gets the same single-threaded predict.
PEER_ENV = {"OMP_NUM_THREADS": "1"}


def servers(pinned: str, work: Path, ports: dict[str, int], tracking_uri: str, peer_repo: Path) -> dict[str, Server]:
    venv_bin = Path(sys.executable).parent
    # mlflow models serve execs `uvicorn` by name: the venv must be on PATH. Our server gets a private
    # BENTOML_HOME: every `bentoml serve` empties $BENTOML_HOME/prometheus_multiproc_dir at start, so
    # another service started on this machine meanwhile would otherwise wipe our worker's metrics.
    env = {"MLFLOW_TRACKING_URI": tracking_uri, "PATH": f"{venv_bin}:{os.environ['PATH']}"}
    ours_env = {**env, "BENTOML_HOME": tempfile.mkdtemp(prefix="bentoml-", dir=work)}
    mlflow = [str(venv_bin / "mlflow"), "models", "serve", "-m", pinned, "--env-manager", "local", "-h", "127.0.0.1"]
    return {
        "ours": Server("lfd serve", [sys.executable, "-m", "lfd_dev.cli", "serve", "--model-uri", pinned, "--host", "127.0.0.1",
                                     "--http-port", str(ports["http"]), "--grpc-port", str(ports["grpc"])],
                       f"http://127.0.0.1:{ports['http']}/v2/health/ready", work / "ours.log", ours_env),
        "mlflow": Server("mlflow models serve", [*mlflow, "-p", str(ports["mlflow"])],
                         f"http://127.0.0.1:{ports['mlflow']}/ping", work / "mlflow.log", env),
        "mlflow2": Server("mlflow models serve --workers 2", [*mlflow, "-p", str(ports["mlflow2"]), "--workers", "2"],
                          f"http://127.0.0.1:{ports['mlflow2']}/ping", work / "mlflow2.log", env),
        "mlserver": Server("mlserver start (1.7.1, parallel_workers 0)", [str(mlserver_bin(load_settings().bin)), "start", str(peer_repo)],
                           f"http://127.0.0.1:{ports['mlserver']}/v2/health/ready", work / "mlserver.log", PEER_ENV),
    }  # fmt: skip


def bench_paths(bodies: dict[str, Path], header_length: int, model_name: str, ports: dict[str, int]) -> list[Path_]:
    base = f"http://127.0.0.1:{ports['http']}"
    infer, grpc = f"{base}/v2/models/{model_name}/infer", f"127.0.0.1:{ports['grpc']}"
    binary = {
        "content_type": "application/octet-stream",
        "headers": (f"Inference-Header-Content-Length: {header_length}",),
    }
    return [
        Path_("http_score_single", "(a) ours HTTP /score, 1 tx + reasons", "http", f"{base}/score", bodies["score1"], 1, "single"),
        Path_("http_oip_single", "(a') ours OIP REST infer, 1 row", "http", infer, bodies["oip1"], 1, "single"),
        Path_("grpc_oip_single", "(c) ours gRPC ModelInfer, 1 row", "grpc", grpc, bodies["grpc1"], 1, "single"),
        Path_("mlflow_single", "(d) mlflow models serve (1 worker, its default), 1 row", "http",
              f"http://127.0.0.1:{ports['mlflow']}/invocations", bodies["mlflow1"], 1, "single", baseline=True),
        Path_("mlflow2_single", "(d') mlflow models serve --workers 2, 1 row", "http",
              f"http://127.0.0.1:{ports['mlflow2']}/invocations", bodies["mlflow1"], 1, "single", baseline=True),
        Path_("http_oip_batch100", "(b) ours OIP REST infer, batch of 100 (JSON)", "http", infer, bodies["oip100"], 100, "batch"),
        Path_("http_oip_batch100_binary", "(b) ours OIP REST infer, batch of 100 (binary tensor)", "http", infer,
              bodies["oip100bin"], 100, "batch", **binary),  # type: ignore[arg-type]
        Path_("grpc_oip_batch100", "(c') ours gRPC ModelInfer, batch of 100", "grpc", grpc, bodies["grpc100"], 100, "batch"),
        Path_("http_score_batch100", "(b') ours HTTP /score, 100 tx + reasons", "http", f"{base}/score", bodies["score100"], 100, "batch"),
        *peer_paths(bodies, model_name, ports),
    ]  # fmt: skip


def peer_paths(bodies: dict[str, Path], model_name: str, ports: dict[str, int]) -> list[Path_]:
    """MLServer over the same OIP v2 bodies (its REST has no binary-tensor extension: JSON only)."""
    infer, grpc = (
        f"http://127.0.0.1:{ports['mlserver']}/v2/models/{model_name}/infer",
        f"127.0.0.1:{ports['mlserver_grpc']}",
    )
    return [
        Path_("mlserver_rest_single", "(e) MLServer OIP REST infer, 1 row", "http", infer, bodies["oip1"], 1, "single", baseline=True, peer="mlserver"),
        Path_("mlserver_grpc_single", "(e) MLServer gRPC ModelInfer, 1 row", "grpc", grpc, bodies["grpc1"], 1, "single", baseline=True, peer="mlserver"),
        Path_("mlserver_rest_batch100", "(e) MLServer OIP REST infer, batch of 100 (JSON)", "http", infer, bodies["oip100"], 100, "batch",
              baseline=True, peer="mlserver"),
        Path_("mlserver_grpc_batch100", "(e) MLServer gRPC ModelInfer, batch of 100", "grpc", grpc, bodies["grpc100"], 100, "batch",
              baseline=True, peer="mlserver"),
    ]  # fmt: skip


def run_plan(loadgen: Path, paths: list[Path_], rates: dict[str, list[float]], duration_s: float, idle_urls: list[str], cpus: str = "") -> dict[str, list[dict[str, Any]]]:  # fmt: skip
    runs: dict[str, list[dict[str, Any]]] = {p.key: [] for p in paths}
    stopped: dict[str, float] = {}
    plan = [(rate, p) for kind in ("single", "batch") for rate in rates[kind] for p in paths if p.kind == kind]
    for i, (rate, p) in enumerate(plan, 1):
        if p.key in stopped:
            runs[p.key].append({"target_rate": rate, "skipped": f"saturated at {stopped[p.key]:.0f} req/s"})
            continue
        result = run_load(loadgen, p, rate, duration_s, cpus)
        runs[p.key].append(result)
        print(f"[{i}/{len(plan)}] {p.label:55s} {rate:6.0f} req/s -> p50 {result['p50_ms']:7.2f} "
              f"p99 {result['p99_ms']:8.2f} ms, errors {100 * result['error_rate']:5.1f} %, load {result['loadavg_1m']:.2f}", flush=True)  # fmt: skip
        if saturated(result):
            stopped[p.key] = rate
        wait_idle(idle_urls)
    return runs


def path_report(path: Path_, runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"label": path.label, "kind": path.kind, "baseline": path.baseline, "peer": path.peer, "rows_per_request": path.rows,
            "runs": runs, "max_sustained": sustained(runs)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-uri", default="models:/fraud-detector@champion")
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI", "http://127.0.0.1:15000"))
    parser.add_argument(
        "--rates", default="25,50,100,250,500,1000,1500,2000", help="req/s for single-transaction paths"
    )
    parser.add_argument("--batch-rates", default="50,100,250,500,750,1000", help="req/s for batch-of-100 paths")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per rate")
    parser.add_argument(
        "--max-load", type=float, default=1.5, help="wait for this 1-minute load average before starting"
    )
    parser.add_argument("--wait-load-s", type=float, default=600, help="give up waiting for --max-load after this long")
    parser.add_argument("--server-cpus", default="", help="run every server on these CPUs only (taskset list, e.g. 1)")
    parser.add_argument("--loadgen-cpus", default="", help="run the load generator on these CPUs only (e.g. 0)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "scoring.json")
    parser.add_argument("--markdown", type=Path, default=ROOT / "docs" / "bench-scoring.md")
    parser.add_argument("--from-json", type=Path, help="only re-render the markdown from an earlier results file")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated path keys to run (default: all), e.g. grpc_oip_batch100,mlserver_grpc_batch100",
    )
    args = parser.parse_args(argv)
    if args.from_json:
        args.markdown.write_text(markdown(json.loads(args.from_json.read_text())))
        return 0

    loadgen = build_loadgen()
    pinned = pin_version(args.model_uri, args.tracking_uri)
    model_name = pinned.removeprefix("models:/").split("/")[0]
    work = Path(tempfile.mkdtemp(prefix="lfd-bench-scoring-"))
    bodies, header_length = write_bodies(work, model_name)
    ports = {
        name: free_port()
        for name in ("http", "grpc", "mlflow", "mlflow2", "mlserver", "mlserver_grpc", "mlserver_metrics")
    }
    peer_repo = write_repository(work, booster_file(pinned, args.tracking_uri, work), model_name,
                                 ports["mlserver"], ports["mlserver_grpc"], ports["mlserver_metrics"])  # fmt: skip
    procs = servers(pinned, work, ports, args.tracking_uri, peer_repo)
    for server in procs.values():
        server.argv = [*pinned_to(args.server_cpus), *server.argv]
    paths = bench_paths(bodies, header_length, model_name, ports)
    if args.only:
        paths = [p for p in paths if p.key in args.only.split(",")]
    rates = {
        "single": [float(r) for r in args.rates.split(",")],
        "batch": [float(r) for r in args.batch_rates.split(",")],
    }
    idle_urls = [server.ready_url for server in procs.values()]
    try:
        for server in procs.values():
            print(f"starting {server.name} ...", flush=True)
            server.start()
        for p in paths:  # one request each: a wrong body must fail here, not as 100 % errors
            probe = run_load(loadgen, p, 5, 1.0, args.loadgen_cpus)
            if probe["errors"]:
                raise SystemExit(f"{p.label}: probe failed {probe['statuses']}")
        load_wait = wait_for_quiet(args.max_load, args.wait_load_s)
        loadavg_before = os.getloadavg()
        runs = run_plan(loadgen, paths, rates, args.duration, idle_urls, args.loadgen_cpus)
    finally:
        for server in procs.values():
            server.stop()
    report = {
        "model_uri": pinned,
        "duration_s": args.duration,
        "p99_slo_ms": 10.0,
        "load_generator": "bench/loadgen (Go, open loop, latency from scheduled time), on the same machine",
        "cpu_split": {"servers": args.server_cpus or "all", "load_generator": args.loadgen_cpus or "all"},
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "loadavg_before": [round(x, 2) for x in loadavg_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "load_wait": load_wait,
        },
        "paths": {p.key: path_report(p, runs[p.key]) for p in paths},
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
