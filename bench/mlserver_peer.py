"""The scoring benchmark's peer: Seldon MLServer 1.7.1 (`mlserver-xgboost`) serving the SAME registered
booster file over OIP v2 (REST and gRPC), in its own environment (`stack/install.sh mlserver`).

`parallel_workers: 0`: MLServer's parallel inference workers die at start on this stack with "There is no
current event loop" (measured, issue 11), so the model runs in the server's own process, one event loop,
as ours does. Metrics get a private port so concurrent benches do not collide on MLServer's default 8082.
"""

from __future__ import annotations

import json
from pathlib import Path

from lfd.model_bundle import BOOSTER_FILES, METADATA_FILE, find_bundle_dir


def mlserver_bin(cache_bin: Path) -> Path:
    """The CLI that `stack/install.sh mlserver` links into the cache's bin."""
    binary = cache_bin / "mlserver"
    if not binary.exists():
        raise SystemExit(f"{binary} missing: run `stack/install.sh mlserver` (make bench-scoring does)")
    return binary


def booster_file(model_uri: str, tracking_uri: str, work: Path) -> Path:
    """The registered version's native XGBoost booster (the file our service loads too)."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(work / "peer-model")))
    bundle = find_bundle_dir(local)
    flavor = json.loads((bundle / METADATA_FILE).read_text()).get("flavor", "xgboost")
    if flavor != "xgboost":
        raise SystemExit(f"{model_uri} is a {flavor} model: the MLServer baseline serves XGBoost boosters only")
    return bundle / BOOSTER_FILES["xgboost"]


def write_repository(
    work: Path, booster: Path, model_name: str, http_port: int, grpc_port: int, metrics_port: int
) -> Path:
    """An MLServer model repository: settings.json (server) + <model>/model-settings.json (the runtime)."""
    root = work / "mlserver"
    (root / model_name).mkdir(parents=True, exist_ok=True)
    settings = {
        "host": "127.0.0.1",
        "http_port": http_port,
        "grpc_port": grpc_port,
        "metrics_port": metrics_port,
        "parallel_workers": 0,
        "debug": False,
    }
    model = {
        "name": model_name,
        "implementation": "mlserver_xgboost.XGBoostModel",
        "parameters": {"uri": str(booster.resolve())},
    }
    (root / "settings.json").write_text(json.dumps(settings, indent=2))
    (root / model_name / "model-settings.json").write_text(json.dumps(model, indent=2))
    return root
