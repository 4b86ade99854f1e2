"""OIP v2 gRPC fuzzed with hypothesis against the REAL service: every generated ``ModelInferRequest``
(wrong datatypes, shapes that do not match the contents, raw contents of the wrong length, huge
shapes, empty tensors, unknown parameters, unknown inputs) is answered with OK and well-formed
outputs, or with a client-error status whose message names the tensor (or the contract feature)
at fault. Never INTERNAL/UNKNOWN, never a hang. Examples per run: ``LFD_FUZZ_EXAMPLES``."""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Iterator
from typing import Any

import grpc
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# tritonclient's stubs of the same OIP proto (package `inference`): importing the service's own generated
# stubs too would register every symbol twice in one process (tests/scoring imports tritonclient's).
from tritonclient.grpc import service_pb2 as pb
from tritonclient.grpc import service_pb2_grpc as pb_grpc

from lfd.contract import FEATURES, N_FEATURES, quote_field
from lfd_dev.scoring_process import ScoringProcess
from tests.security import summary
from tests.security.conftest import LIMITS, MODEL_NAME

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("LFD_FUZZ_EXAMPLES", "60"))
#: make test replays one fixed search (a new finding must not turn CI red by chance); make fuzz explores anew.
RANDOM_SEARCH = "LFD_FUZZ_SUMMARY" in os.environ
CLIENT_ERRORS = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.RESOURCE_EXHAUSTED}
FIELD = re.compile(r"field ('(?:[^'\\]|\\.)*'…?)")  # a name as quote_field shows it, escapes included
DATATYPES = ["FP32", "FP64", "BYTES", "INT32", "INT64", "BOOL", "UINT8", "FP16", "BF16", "", "fp32", "STRING"]
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)


TRIED: list[str] = []  # one status name per generated request sent


@pytest.fixture(scope="module", autouse=True)
def record_summary() -> Iterator[None]:
    yield
    if TRIED:
        summary.record("gRPC OIP v2 ModelInfer (hypothesis)", len(TRIED), [])


@pytest.fixture(scope="module")
def stub(hardened_service: ScoringProcess) -> Iterator[Any]:
    options = [("grpc.max_send_message_length", 64 << 20), ("grpc.max_receive_message_length", 64 << 20)]
    with grpc.insecure_channel(hardened_service.grpc_target, options=options) as channel:
        yield pb_grpc.GRPCInferenceServiceStub(channel)


def parameters() -> st.SearchStrategy[dict[str, Any]]:
    value = st.one_of(
        st.builds(lambda b: pb.InferParameter(bool_param=b), st.booleans()),
        st.builds(lambda i: pb.InferParameter(int64_param=i), INT64),
        st.builds(lambda s: pb.InferParameter(string_param=s), st.text(max_size=20)),
    )
    return st.dictionaries(st.text(max_size=12), value, max_size=3)


@st.composite
def shapes(draw: st.DrawFn) -> list[int]:
    rows = draw(st.one_of(st.integers(0, 5), st.just(LIMITS["MAX_BATCH"] + 1), st.integers(0, 2**40)))
    return draw(
        st.one_of(
            st.just([rows, N_FEATURES]),
            st.lists(st.one_of(st.integers(-3, 40), INT64), max_size=4),
            st.just([rows]),
            st.just([rows, N_FEATURES, 1]),
        )
    )


@st.composite
def tensors(draw: st.DrawFn) -> tuple[Any, bytes | None]:
    """One input tensor and, optionally, the raw bytes meant for it."""
    name = draw(st.sampled_from(["input", "input", "id", "V1", ""]) | st.text(max_size=8))
    datatype = draw(st.sampled_from(DATATYPES))
    shape = draw(shapes())
    floats = st.floats(allow_nan=True, allow_infinity=True, width=32)
    n = draw(st.integers(0, 2 * N_FEATURES * 3))
    contents = pb.InferTensorContents(
        fp32_contents=draw(st.lists(floats, min_size=n, max_size=n)),
        fp64_contents=draw(st.lists(st.floats(), max_size=n)),
        int_contents=draw(st.lists(st.integers(-(2**31), 2**31 - 1), max_size=4)),
        bytes_contents=draw(st.lists(st.binary(max_size=10), max_size=4)),
    )
    tensor = pb.ModelInferRequest.InferInputTensor(
        name=name, datatype=datatype, shape=shape, contents=contents, parameters=draw(parameters())
    )
    raw = draw(st.none() | st.binary(max_size=300) | st.builds(_valid_raw, st.integers(1, 3), floats))
    return tensor, raw


def _valid_raw(rows: int, value: float) -> bytes:
    return np.full((rows, N_FEATURES), value, dtype="<f4").tobytes()


@st.composite
def requests(draw: st.DrawFn) -> Any:
    pairs = draw(st.lists(tensors(), max_size=3))
    raw = [r for _, r in pairs if r is not None]
    if draw(st.booleans()):
        raw = []  # typed contents only
    return pb.ModelInferRequest(
        model_name=draw(st.sampled_from([MODEL_NAME, MODEL_NAME, "", "other"])),
        model_version=draw(st.sampled_from(["", "", "security-test", "9"])),
        id=draw(st.text(max_size=10)),
        parameters=draw(parameters()),
        inputs=[t for t, _ in pairs],
        raw_input_contents=raw,
    )


def check_answer(stub: Any, request: Any) -> None:
    """The property: OK with one score per row, or a client error naming what was refused."""
    try:
        response = stub.ModelInfer(request, timeout=30)
        TRIED.append("OK")
    except grpc.RpcError as e:
        code, details = e.code(), e.details() or ""
        TRIED.append(code.name)
        assert code in CLIENT_ERRORS, f"{code}: {details}\nrequest: {request}"
        if code is grpc.StatusCode.NOT_FOUND:
            assert "model" in details, details
            return
        if code is grpc.StatusCode.RESOURCE_EXHAUSTED and "message larger than max" in details:
            return  # refused by grpc itself (GRPC_MAX_MESSAGE_BYTES): the message says which limit
        match = FIELD.search(details)
        assert match, f"no field named in {details!r}"
        named = {t.name for t in request.inputs} | set(FEATURES) | {"raw_input_contents", "input", "reasons"}
        shown = {quote_field(name) for name in named}
        assert match.group(1) in shown, f"field {match.group(1)} is not a tensor of the request: {details}"
        return
    outputs = {o.name: o for o in response.outputs}
    rows = int(outputs["fraud_probability"].shape[0])
    assert rows >= 1
    proba = np.frombuffer(response.raw_output_contents[0], dtype="<f4")
    assert proba.shape == (rows,) and np.all((proba >= 0) & (proba <= 1))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=not RANDOM_SEARCH)
@given(request=requests())
def test_generated_infer_requests_get_a_status_that_names_the_tensor(stub: Any, request: Any) -> None:
    check_answer(stub, request)


# --- regressions: the inputs the fuzzer is built around, each asserted exactly ----------------------------


def _features(rows: int, datatype: str = "FP32", **contents: Any) -> Any:
    return pb.ModelInferRequest.InferInputTensor(
        name="input", datatype=datatype, shape=[rows, N_FEATURES], contents=pb.InferTensorContents(**contents)
    )


def _error(stub: Any, request: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as info:
        stub.ModelInfer(request, timeout=30)
    return info.value.code(), info.value.details() or ""


@pytest.mark.parametrize(
    ("case", "request_kwargs", "code", "named"),
    [
        ("wrong datatype", {"inputs": [_features(1, "INT32", int_contents=[1] * N_FEATURES)]}, "INVALID_ARGUMENT", "input"),
        ("shape/content mismatch", {"inputs": [_features(2, fp32_contents=[0.5] * N_FEATURES)]}, "INVALID_ARGUMENT", "input"),
        ("raw of wrong length", {"inputs": [_features(1)], "raw_input_contents": [b"\0" * 7]}, "INVALID_ARGUMENT", "input"),
        ("huge shape", {"inputs": [pb.ModelInferRequest.InferInputTensor(name="input", datatype="FP32", shape=[2**40])]},
         "RESOURCE_EXHAUSTED", "input"),
        ("batch over max", {"inputs": [_features(2**40)]}, "INVALID_ARGUMENT", "input"),
        ("empty tensor", {"inputs": [_features(0)]}, "INVALID_ARGUMENT", "input"),
        ("unknown input", {"inputs": [_features(1, fp32_contents=[0.5] * N_FEATURES),
                                      pb.ModelInferRequest.InferInputTensor(name="extra", datatype="FP32", shape=[1])]},
         "INVALID_ARGUMENT", "extra"),
        ("FP64 beyond float32 (fuzz finding)", {"inputs": [_features(1, "FP64", fp64_contents=[1e300] * N_FEATURES)]},
         "INVALID_ARGUMENT", "Time"),
        ("a tensor named ' (fuzz finding: the quote broke the message)",
         {"inputs": [_features(1, fp32_contents=[0.5] * N_FEATURES),
                     pb.ModelInferRequest.InferInputTensor(name="'", datatype="FP32", shape=[1])]},
         "INVALID_ARGUMENT", "'"),
    ],
)  # fmt: skip
def test_known_hostile_requests(stub: Any, case: str, request_kwargs: dict[str, Any], code: str, named: str) -> None:
    got, details = _error(stub, pb.ModelInferRequest(model_name=MODEL_NAME, **request_kwargs))
    assert got.name == code, f"{case}: {got.name} {details}"
    assert f"field {quote_field(named)}" in details, f"{case}: {details}"


def test_unknown_parameters_are_ignored_and_the_request_scored(stub: Any) -> None:
    request = pb.ModelInferRequest(
        model_name=MODEL_NAME,
        parameters={"x-unknown": pb.InferParameter(string_param="y")},
        inputs=[_features(1, fp32_contents=[0.5] * N_FEATURES)],
    )
    response = stub.ModelInfer(request, timeout=30)
    assert len(response.raw_output_contents[0]) == struct.calcsize("<f")


def test_message_over_the_grpc_limit_is_resource_exhausted(stub: Any) -> None:
    rows = LIMITS["GRPC_MAX_MESSAGE_BYTES"] // (N_FEATURES * 4) + 10
    request = pb.ModelInferRequest(
        model_name=MODEL_NAME, inputs=[_features(rows)], raw_input_contents=[_valid_raw(rows, 0.5)]
    )
    code, details = _error(stub, request)
    assert code is grpc.StatusCode.RESOURCE_EXHAUSTED, details
