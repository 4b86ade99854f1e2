"""OIP v2 over gRPC against the running service, and interop with a real third-party client
(tritonclient's ``InferenceServerClient``, HTTP and gRPC, used unchanged)."""

from __future__ import annotations

from typing import Any

import grpc
import numpy as np
import pandas as pd
import pytest
import tritonclient.grpc as triton_grpc
import tritonclient.http as triton_http
from tritonclient.grpc import service_pb2 as pb
from tritonclient.grpc import service_pb2_grpc as pb_grpc

from lfd.contract import FEATURES
from lfd_dev.scoring_process import ScoringProcess
from scoring.service import EXAMPLE_INPUT, EXAMPLE_TRANSACTION

from .conftest import TEST_MAX_BATCH

pytestmark = pytest.mark.integration
MODEL = "fraud-detector"


def real_batch(frame: pd.DataFrame, n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    sample = pd.concat([frame[frame["Class"] == 1].head(n // 4), frame[frame["Class"] == 0].head(n - n // 4)])
    ids = np.array([f"tx-{i}".encode() for i in range(len(sample))], dtype=np.object_)
    return sample[list(FEATURES)].to_numpy(np.float32), ids


def score_via_http(service: ScoringProcess, matrix: np.ndarray) -> np.ndarray:
    import httpx

    transactions = [
        {"id": f"r{i}", **dict(zip(FEATURES, map(float, row), strict=True))} for i, row in enumerate(matrix)
    ]
    results = httpx.post(f"{service.url}/score", json={"transactions": transactions}, timeout=30).json()["results"]
    return np.array([r["fraud_probability"] for r in results], dtype=np.float32)


@pytest.mark.parametrize("client_module", [triton_grpc, triton_http], ids=["tritonclient.grpc", "tritonclient.http"])
def test_tritonclient_scores_a_batch_unchanged(
    service: ScoringProcess, dev_frame: pd.DataFrame, client_module: Any
) -> None:
    url = service.grpc_target if client_module is triton_grpc else f"127.0.0.1:{service.http_port}"
    client = client_module.InferenceServerClient(url)
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready(MODEL)
    metadata = client.get_model_metadata(MODEL)
    assert (metadata.name if client_module is triton_grpc else metadata["name"]) == MODEL
    matrix, ids = real_batch(dev_frame)
    features = client_module.InferInput("input", list(matrix.shape), "FP32")
    features.set_data_from_numpy(matrix)
    id_input = client_module.InferInput("id", [len(ids)], "BYTES")
    id_input.set_data_from_numpy(ids)
    result = client.infer(MODEL, [features, id_input])
    proba = result.as_numpy("fraud_probability")
    decision = result.as_numpy("decision")
    assert proba.shape == (len(matrix),) and proba.dtype == np.float32
    np.testing.assert_array_equal(decision, (proba >= 0.4).astype(np.int32))
    assert [bytes(i) if isinstance(i, bytes) else i.encode() for i in result.as_numpy("id")] == list(ids)
    np.testing.assert_allclose(proba, score_via_http(service, matrix), atol=1e-6)
    assert decision[: len(matrix) // 4].sum() > 0  # real frauds are flagged


def infer_request(
    matrix: Any,
    datatype: str = "FP32",
    shape: list[int] | None = None,
    raw: bool = True,
    extra: list[Any] | None = None,
) -> Any:
    array = np.asarray(matrix, dtype=np.float32 if datatype == "FP32" else np.float64)
    tensor = pb.ModelInferRequest.InferInputTensor(name="input", datatype=datatype, shape=shape or list(array.shape))
    request = pb.ModelInferRequest(model_name=MODEL, inputs=[tensor, *(extra or [])])
    if raw:
        request.raw_input_contents.append(array.tobytes())
        for _ in extra or []:
            request.raw_input_contents.append(b"")
    elif datatype == "FP64":
        tensor.contents.fp64_contents.extend(array.ravel().tolist())
        request.inputs[0].CopyFrom(tensor)
    else:
        tensor.contents.fp32_contents.extend(array.ravel().tolist())
        request.inputs[0].CopyFrom(tensor)
    return request


def example_matrix(n: int = 1) -> np.ndarray:
    return np.array([[EXAMPLE_TRANSACTION[f] for f in FEATURES]] * n, dtype=np.float64)


@pytest.fixture(scope="module")
def stub(service: ScoringProcess) -> Any:
    channel = grpc.insecure_channel(service.grpc_target, options=[("grpc.max_send_message_length", 64 << 20)])
    yield pb_grpc.GRPCInferenceServiceStub(channel)
    channel.close()


def test_standard_grpc_health_service_reports_serving(service: ScoringProcess) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(service.grpc_target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for name in ("", "inference.GRPCInferenceService"):
            response = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=10)
            assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_grpc_health_metadata_and_typed_contents(stub: Any, service: ScoringProcess) -> None:
    assert stub.ServerLive(pb.ServerLiveRequest()).live
    assert stub.ServerReady(pb.ServerReadyRequest()).ready
    assert stub.ModelReady(pb.ModelReadyRequest(name=MODEL)).ready
    assert not stub.ModelReady(pb.ModelReadyRequest(name="other")).ready
    metadata = stub.ModelMetadata(pb.ModelMetadataRequest(name=MODEL))
    assert metadata.versions == ["bundle-test"] and list(metadata.inputs[0].shape) == [-1, 30]
    expected = score_via_http(service, example_matrix(1))
    for datatype in ("FP32", "FP64"):
        response = stub.ModelInfer(infer_request(example_matrix(3), datatype=datatype, raw=False))
        proba = np.frombuffer(response.raw_output_contents[0], dtype="<f4")
        np.testing.assert_allclose(proba, np.repeat(expected, 3), atol=1e-6)


def negative_amount() -> np.ndarray:
    matrix = example_matrix(2)
    matrix[1, FEATURES.index("Amount")] = -3.0
    return matrix


BAD_GRPC_REQUESTS: dict[str, tuple[Any, str]] = {
    "wrong width": (lambda: infer_request(np.zeros((2, 29))), "shape must be [n, 30]"),
    "1-d shape": (lambda: infer_request(np.zeros(30), shape=[30]), "shape must be [n, 30]"),
    "raw size mismatch": (lambda: infer_request(np.zeros((2, 30)), shape=[3, 30]), "raw data has 240 bytes"),
    "datatype INT32": (lambda: infer_request(np.zeros((1, 30)), datatype="INT32"), "datatype must be FP32 or FP64"),
    "typed count mismatch": (lambda: infer_request(np.zeros((1, 30)), shape=[2, 30], raw=False), "needs 60"),
    "empty batch": (lambda: infer_request(np.zeros((0, 30)), shape=[0, 30]), "must not be empty"),
    "batch over max": (lambda: infer_request(np.zeros((TEST_MAX_BATCH + 1, 30))), "exceeds the maximum"),
    "NaN": (lambda: infer_request(np.where(np.eye(1, 30, 3) == 1, np.nan, example_matrix())), "'V3': must be finite"),
    "+inf": (lambda: infer_request(np.where(np.eye(1, 30, 4) == 1, np.inf, example_matrix())), "'V4': must be finite"),
    "negative Amount": (lambda: infer_request(negative_amount()), "record 1: field 'Amount': must be >= 0"),
    "unknown input": (
        lambda: infer_request(
            example_matrix(), extra=[pb.ModelInferRequest.InferInputTensor(name="x", datatype="FP32", shape=[0])]
        ),
        "field 'x': unknown input",
    ),
}


@pytest.mark.parametrize("case", BAD_GRPC_REQUESTS, ids=list(BAD_GRPC_REQUESTS))
def test_grpc_rejects_bad_tensors_with_invalid_argument(stub: Any, case: str) -> None:
    build, message = BAD_GRPC_REQUESTS[case]
    with pytest.raises(grpc.RpcError) as raised:
        stub.ModelInfer(build(), timeout=30)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT, raised.value.details()
    assert message in raised.value.details()


def test_grpc_unknown_model_is_not_found(stub: Any) -> None:
    request = infer_request(example_matrix())
    request.model_name = "other"
    with pytest.raises(grpc.RpcError) as raised:
        stub.ModelInfer(request)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


def test_example_input_matches_between_protocols(stub: Any, service: ScoringProcess) -> None:
    http_score = score_via_http(service, example_matrix())[0]
    assert EXAMPLE_INPUT["transactions"][0]["id"] == EXAMPLE_TRANSACTION["id"]
    response = stub.ModelInfer(infer_request(example_matrix()))
    assert np.frombuffer(response.raw_output_contents[0], dtype="<f4")[0] == pytest.approx(http_score, abs=1e-7)


def test_fraud_reasons_come_only_for_fraud_rows_over_grpc_and_binary_rest(
    stub: Any, service: ScoringProcess, dev_frame: pd.DataFrame
) -> None:
    """The streaming job's batch path: reasons=fraud → exact reasons for the fraud rows, the same
    features /score names for them, and none for legitimate rows; over gRPC and binary REST alike."""
    import json

    import httpx

    from lfd.streaming.oip_client import OipBatchClient

    matrix, _ = real_batch(dev_frame)
    request = infer_request(matrix.astype(np.float64), datatype="FP64")
    request.parameters["reasons"].string_param = "fraud"
    response = stub.ModelInfer(request)
    names = [o.name for o in response.outputs]
    raw = dict(zip(names, response.raw_output_contents, strict=True))
    decision = np.frombuffer(raw["decision"], dtype="<i4")
    grpc_reasons, offset, blob = [], 0, raw["reasons"]
    while offset < len(blob):
        length = int.from_bytes(blob[offset : offset + 4], "little")
        grpc_reasons.append(json.loads(blob[offset + 4 : offset + 4 + length]))
        offset += 4 + length
    rest = OipBatchClient(service.url).score(matrix.astype(np.float64))
    rest_reasons = [json.loads(r) for r in rest.reasons or []]
    assert decision.sum() > 0 and list(decision) == rest.decision
    transactions = [
        {"id": f"r{i}", **dict(zip(FEATURES, map(float, row), strict=True))} for i, row in enumerate(matrix)
    ]
    full = httpx.post(f"{service.url}/score", json={"transactions": transactions}, timeout=30).json()["results"]
    for i, fraud in enumerate(decision):
        if fraud:
            expected = [r["feature"] for r in full[i]["reasons"]]
            assert [r["feature"] for r in grpc_reasons[i]] == expected == [r["feature"] for r in rest_reasons[i]]
        else:
            assert grpc_reasons[i] == [] == rest_reasons[i]
