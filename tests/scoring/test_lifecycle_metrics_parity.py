"""Readiness before load, Prometheus metrics moving with traffic, and score parity with the registry model."""

from __future__ import annotations

import re
from pathlib import Path

import grpc
import httpx
import numpy as np
import pandas as pd
import pytest
import tritonclient.grpc as triton_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tritonclient.grpc import service_pb2 as pb
from tritonclient.grpc import service_pb2_grpc as pb_grpc

from lfd.contract import FEATURES
from lfd_dev.ports import free_port
from lfd_dev.scoring_process import ScoringProcess
from scoring.service import EXAMPLE_INPUT

from .conftest import RegisteredModel

pytestmark = pytest.mark.integration


def metric_value(text: str, name: str, labels: str = "") -> float:
    """Sum of the samples of ``name`` whose label set contains every ``k="v"`` in ``labels``."""
    wanted = [part for part in labels.split(",") if part]
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{re.escape(name)}(\{{[^}}]*\}})? (\S+)$", line)
        if match and all(w in (match.group(1) or "") for w in wanted):
            total += float(match.group(2))
    return total


def test_metrics_are_exposed_and_move_with_traffic(service: ScoringProcess) -> None:
    before = httpx.get(f"{service.url}/metrics").text
    assert (
        'lfd_model_info{flavor="xgboost",model_name="fraud-detector",model_version="bundle-test",threshold="0.4"} 1.0'
        in before
    )
    assert "bentoml_service_request_total" in before  # BentoML's own metrics are still there

    httpx.post(f"{service.url}/score", json=EXAMPLE_INPUT)
    httpx.post(f"{service.url}/score", json={"transactions": []})  # a 400
    client = triton_grpc.InferenceServerClient(service.grpc_target)
    features = triton_grpc.InferInput("input", [4, 30], "FP32")
    features.set_data_from_numpy(np.zeros((4, 30), dtype=np.float32))
    client.infer("fraud-detector", [features])

    after = httpx.get(f"{service.url}/metrics").text

    def delta(name: str, labels: str = "") -> float:
        return metric_value(after, name, labels) - metric_value(before, name, labels)

    assert delta("lfd_scoring_requests_total", 'endpoint="score",protocol="http",status="200"') == 1
    assert delta("lfd_scoring_requests_total", 'endpoint="score",protocol="http",status="400"') == 1
    assert delta("lfd_scoring_requests_total", 'endpoint="infer",protocol="grpc",status="OK"') == 1
    assert delta("lfd_scoring_request_duration_seconds_count", 'endpoint="infer",protocol="grpc"') == 1
    assert delta("lfd_scoring_score_count") == 5
    assert delta("lfd_scoring_decisions_total") == 5
    assert delta("lfd_scoring_batch_size_sum") == 5
    assert delta("lfd_scoring_batch_size_count") == 2


def test_readiness_is_false_while_the_model_is_loading(tmp_path: Path) -> None:
    """The registry is unreachable (nothing listens on the port), so the load keeps retrying: the
    service must be live but not ready, and refuse to score on both protocols."""
    unreachable = f"http://127.0.0.1:{free_port()}"
    service = ScoringProcess(
        ["--model-uri", "models:/fraud-detector@champion", "--tracking-uri", unreachable], tmp_path / "log"
    )
    service.env = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "10", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "2"}
    service.start()
    try:
        service.wait_live()
        ready = httpx.get(f"{service.url}/v2/health/ready")
        assert ready.status_code == 503 and ready.json() == {"ready": False, "reason": "loading"}
        assert httpx.get(f"{service.url}/readyz").status_code == 503
        score = httpx.post(f"{service.url}/score", json=EXAMPLE_INPUT)
        assert score.status_code == 503 and score.json()["kind"] == "model_not_ready"
        with grpc.insecure_channel(service.grpc_target) as channel:
            stub = pb_grpc.GRPCInferenceServiceStub(channel)
            assert stub.ServerLive(pb.ServerLiveRequest()).live
            assert not stub.ServerReady(pb.ServerReadyRequest()).ready
            health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
            assert health.status == health_pb2.HealthCheckResponse.NOT_SERVING
            assert not stub.ModelReady(pb.ModelReadyRequest(name="fraud-detector")).ready
            with pytest.raises(grpc.RpcError) as raised:
                stub.ModelInfer(pb.ModelInferRequest(model_name="fraud-detector"))
            assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        service.stop()


def test_a_model_that_cannot_load_keeps_the_service_unready_with_the_reason(mlflow_server: str, tmp_path: Path) -> None:
    args = ["--model-uri", "models:/no-such-model-scoring-test@champion", "--tracking-uri", mlflow_server]
    service = ScoringProcess(args, tmp_path / "log").start()
    try:
        service.wait_live()
        deadline_reason = ""
        for _ in range(240):
            body = httpx.get(f"{service.url}/v2/health/ready").json()
            deadline_reason = body.get("reason", "")
            if deadline_reason.startswith("failed"):
                break
            import time

            time.sleep(0.5)
        assert deadline_reason.startswith("failed: "), deadline_reason
        assert "no-such-model-scoring-test" in deadline_reason
        assert httpx.post(f"{service.url}/v2/models/fraud-detector/infer", json={"inputs": []}).status_code == 503
    finally:
        service.stop()


def test_scores_equal_the_registered_models_predict(
    registry_service: ScoringProcess, registered_model: RegisteredModel, dev_frame: pd.DataFrame
) -> None:
    """The service resolved the alias to the registered version, and its scores equal
    ``mlflow.pyfunc.load_model(...).predict`` within 1e-6 on real rows (HTTP /score and gRPC)."""
    import mlflow.pyfunc

    sample = pd.concat([dev_frame[dev_frame["Class"] == 1].head(100), dev_frame[dev_frame["Class"] == 0].head(400)])
    features = sample[list(FEATURES)].reset_index(drop=True)
    pyfunc = mlflow.pyfunc.load_model(f"models:/{registered_model.name}/{registered_model.version}")
    expected = pyfunc.predict(features)

    transactions = [{"id": f"p{i}", **row} for i, row in enumerate(features.to_dict(orient="records"))]
    results = httpx.post(f"{registry_service.url}/score", json={"transactions": transactions}, timeout=60).json()[
        "results"
    ]
    assert {r["model"]["version"] for r in results} == {registered_model.version}
    assert {r["model"]["name"] for r in results} == {registered_model.name}
    http_scores = np.array([r["fraud_probability"] for r in results])
    np.testing.assert_allclose(http_scores, expected["fraud_probability"].to_numpy(), rtol=0, atol=1e-6)
    assert [int(r["decision"] == "fraud") for r in results] == expected["decision"].tolist()

    client = triton_grpc.InferenceServerClient(registry_service.grpc_target)
    tensor = triton_grpc.InferInput("input", list(features.shape), "FP64")
    tensor.set_data_from_numpy(features.to_numpy(np.float64))
    grpc_scores = client.infer(registered_model.name, [tensor]).as_numpy("fraud_probability")
    np.testing.assert_allclose(grpc_scores, expected["fraud_probability"].to_numpy(), rtol=0, atol=1e-6)
    metrics = httpx.get(f"{registry_service.url}/metrics").text
    assert f'model_name="{registered_model.name}",model_version="{registered_model.version}"' in metrics


def test_a_registry_model_loads_from_a_fresh_shell_without_mlflow_tracking_uri(
    registered_model: RegisteredModel, tmp_path: Path
) -> None:
    """`lfd serve --model-uri models:/x@alias` resolves the alias AND downloads from the same server, even
    with MLFLOW_TRACKING_URI unset (a fresh shell; a pod gets it only through the operator). Before, the
    download went to MLflow's default registry, a new ./mlflow.db: "Registered Model ... not found"."""
    import os
    import subprocess
    import sys

    code = (
        "from scoring.config import ScoringConfig; from scoring.model import load_model; "
        f"m = load_model(ScoringConfig(model_uri={registered_model.alias_uri!r}, "
        f"tracking_uri={registered_model.tracking_uri!r})); print(m.name, m.version)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == [registered_model.name, registered_model.version]
    assert not (tmp_path / "mlflow.db").exists()
