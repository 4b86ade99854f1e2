"""Unit tier: the pure decision functions of the scoring service (no server, no model files)."""

from __future__ import annotations

import argparse
import asyncio
import json
import struct

import grpc
import numpy as np
import pytest

from lfd.contract import FEATURES, ContractViolation
from scoring.batcher import MicroBatcher
from scoring.cli import serve_command
from scoring.config import DEFAULT_MAX_BATCH, ScoringConfig
from scoring.engine import load_retry_delay
from scoring.errors import (
    AnswerTimeout,
    InvalidInput,
    ModelNotFound,
    ModelNotReady,
    Overloaded,
    UnprocessableInput,
    error_body,
    grpc_code,
    http_headers,
    http_status,
)
from scoring.explain import top_reasons
from scoring.model import ModelRef, parse_model_uri
from scoring.oip import rest
from scoring.oip import tensors as T

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (InvalidInput("V1", "must be finite"), 400, grpc.StatusCode.INVALID_ARGUMENT),
        (UnprocessableInput("body", "must be JSON"), 422, grpc.StatusCode.INVALID_ARGUMENT),
        (ModelNotFound("x", "fraud-detector"), 404, grpc.StatusCode.NOT_FOUND),
        (ModelNotReady("loading"), 503, grpc.StatusCode.UNAVAILABLE),
        (Overloaded("queue full", retry_after_s=2), 503, grpc.StatusCode.UNAVAILABLE),
        (AnswerTimeout("not answered within 10 s"), 504, grpc.StatusCode.DEADLINE_EXCEEDED),
    ],
)
def test_each_domain_error_maps_to_one_http_status_and_grpc_code(
    error: Exception, status: int, code: grpc.StatusCode
) -> None:
    assert http_status(error) == status  # type: ignore[arg-type]
    assert grpc_code(error) == code  # type: ignore[arg-type]


def test_error_bodies_name_field_rule_and_retry_after() -> None:
    violation = ContractViolation("Amount", "must be >= 0", 3)
    body = error_body(InvalidInput.from_violation(violation))
    assert body == {"error": "record 3: field 'Amount': must be >= 0", "kind": "invalid_input",
                    "field": "Amount", "rule": "must be >= 0", "index": 3}  # fmt: skip
    assert http_headers(Overloaded("full", retry_after_s=2)) == {"Retry-After": "2"}
    assert http_headers(ModelNotReady("loading")) == {}


@pytest.mark.parametrize(
    ("uri", "ref"),
    [
        ("models:/fraud-detector@champion", ModelRef("fraud-detector", alias="champion")),
        ("models:/fraud-detector/12", ModelRef("fraud-detector", version="12")),
    ],
)
def test_model_uris_parse_to_name_and_alias_or_version(uri: str, ref: ModelRef) -> None:
    assert parse_model_uri(uri) == ref


@pytest.mark.parametrize(
    "uri", ["fraud-detector", "models:/fraud-detector", "models:/x/latest", "runs:/abc/model", "models:/@a"]
)
def test_model_uris_without_a_pin_are_rejected(uri: str) -> None:
    with pytest.raises(ValueError, match="expected models:/<name>@<alias>"):
        parse_model_uri(uri)


def test_config_round_trips_through_the_environment_and_defaults_to_10000() -> None:
    assert ScoringConfig().max_batch == DEFAULT_MAX_BATCH == 10_000
    config = ScoringConfig(model_dir="/m", max_batch=7, batch_wait_ms=0.5)
    assert ScoringConfig.from_env(config.to_env()) == config
    assert ScoringConfig.from_env({"MLFLOW_TRACKING_URI": "http://x"}).tracking_uri == "http://x"
    with pytest.raises(ValueError, match="LFD_SCORING_MAX_BATCH"):
        ScoringConfig.from_env({"LFD_SCORING_MAX_BATCH": "many"})


def test_serve_command_lets_options_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LFD_SCORING_MODEL_DIR", "/from/env")
    args = argparse.Namespace(model_uri=None, model_dir=None, tracking_uri=None, max_batch=None, host="127.0.0.1",
                              http_port=3001, grpc_port=8002, access_log=False, threshold=None)  # fmt: skip
    argv, env = serve_command(args)
    assert argv[-4:] == ["--host", "127.0.0.1", "--port", "3001"]
    assert env["LFD_SCORING_MODEL_DIR"] == "/from/env" and env["LFD_SCORING_GRPC_PORT"] == "8002"
    assert env["LFD_SCORING_MODEL_URI"] == "models:/fraud-detector@champion"
    args.max_batch, args.model_dir, args.threshold = 50, "/cli", 0.25
    _, env = serve_command(args)
    assert env["LFD_SCORING_MAX_BATCH"] == "50" and env["LFD_SCORING_MODEL_DIR"] == "/cli"
    assert ScoringConfig.from_env(env).threshold == 0.25


@pytest.mark.parametrize(("attempt", "delay"), [(1, 1.0), (2, 2.0), (5, 16.0), (6, 30.0), (400, 30.0)])
def test_model_load_retries_back_off_exponentially_up_to_the_cap(attempt: int, delay: float) -> None:
    assert load_retry_delay(attempt, 30.0) == delay


def test_threshold_outside_zero_one_is_refused_naming_the_variable() -> None:
    assert ScoringConfig.from_env({}).threshold < 0  # the model's own
    with pytest.raises(ValueError, match=r"LFD_SCORING_THRESHOLD=1.5: must be within \[0, 1\]"):
        ScoringConfig.from_env({"LFD_SCORING_THRESHOLD": "1.5"})


def test_top_reasons_rank_by_magnitude_and_quote_the_values() -> None:
    features = np.arange(60, dtype=np.float64).reshape(2, 30)
    contributions = np.zeros((2, 31), dtype=np.float32)
    contributions[0, [3, 7, 29]] = [0.5, -2.0, 1.0]
    contributions[0, 30] = 100.0  # the bias is never a reason
    contributions[1, [0, 1, 2, 3]] = [0.1, 0.1, 0.1, 0.1]  # ties keep contract order
    reasons = top_reasons(features, contributions, 3)
    assert [r["feature"] for r in reasons[0]] == ["V7", "Amount", "V3"]
    assert reasons[0][0] == {"feature": "V7", "value": 7.0, "contribution": -2.0}
    assert [r["feature"] for r in reasons[1]] == ["Time", "V1", "V2"]


def test_tensor_from_binary_and_json_agree() -> None:
    matrix = np.random.default_rng(0).random((3, 30))
    from_raw = T.numeric_from_raw("input", "FP64", (3, 30), matrix.astype("<f8").tobytes())
    from_json = T.numeric_from_list("input", "FP32", (3, 30), matrix.tolist())
    got_raw, _ = T.features_and_ids([from_raw], 10)
    got_json, _ = T.features_and_ids([from_json], 10)
    np.testing.assert_array_equal(got_raw, got_json)
    assert got_raw.dtype == np.float32 and got_raw.flags["C_CONTIGUOUS"]


def test_bytes_tensors_decode_the_triton_length_prefixed_format() -> None:
    raw = T.encode_bytes([b"a", b"bc"])
    assert raw == struct.pack("<I", 1) + b"a" + struct.pack("<I", 2) + b"bc"
    assert T.bytes_from_raw("id", (2,), raw).items == [b"a", b"bc"]
    with pytest.raises(InvalidInput, match="truncated"):
        T.bytes_from_raw("id", (2,), raw[:-1])


@pytest.mark.parametrize(
    ("tensor", "field", "rule"),
    [
        (lambda: T.numeric_from_list("input", "FP32", (1, 30), [[None] * 30]), "input", "data must be numbers"),
        (lambda: T.numeric_from_list("input", "FP32", (1, 30), [[1.0, 2.0], [3.0]]), "input", "data must be"),
        (lambda: T.numeric_from_list("input", "FP16", (1, 30), [0.0] * 30), "input", "FP32 or FP64"),
        (lambda: T.numeric_from_list("input", "FP32", (1, -30), []), "input", "non-negative integers"),
        (lambda: T.numeric_from_list("id", "FP32", (1,), [1.0]), "id", "must be BYTES"),
    ],
)
def test_bad_tensors_name_field_and_rule(tensor: object, field: str, rule: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        tensor()  # type: ignore[operator]
    assert raised.value.field == field and rule in raised.value.rule


def test_rest_binary_extension_splits_json_header_and_tensor_bytes() -> None:
    matrix = np.ones((2, 30), dtype="<f4")
    header = json.dumps({"id": "r", "inputs": [{"name": "input", "datatype": "FP32", "shape": [2, 30],
                                                "parameters": {"binary_data_size": matrix.nbytes}}]}).encode()  # fmt: skip
    tensors, request_id = rest.parse_infer_request(header + matrix.tobytes(), str(len(header)), 300_000)
    assert request_id == "r" and tensors[0].values is not None and tensors[0].values.size == 60
    with pytest.raises(InvalidInput, match="not claimed"):
        rest.parse_infer_request(header + matrix.tobytes() + b"x", str(len(header)), 300_000)
    with pytest.raises(UnprocessableInput):
        rest.parse_infer_request(b"[1, 2", None, 300_000)


def test_feature_matrix_applies_the_contract_rules_with_row_index() -> None:
    matrix = np.zeros((3, 30))
    matrix[2, FEATURES.index("Time")] = -1
    with pytest.raises(InvalidInput) as raised:
        T.feature_matrix(T.Tensor("input", "FP64", (3, 30), values=matrix.ravel()), 10)
    assert (raised.value.field, raised.value.rule, raised.value.index) == ("Time", "must be >= 0", 2)


def fake_model(matrix: np.ndarray) -> np.ndarray:
    return matrix[:, 0].astype(np.float32)


def test_batcher_merges_concurrent_requests_and_returns_each_its_own_rows() -> None:
    sizes: list[int] = []

    async def scenario() -> list[np.ndarray]:
        batcher = MicroBatcher(fake_model, lambda m: np.zeros((len(m), 31), np.float32), max_rows=100,
                               max_queue_rows=1000, on_batch=sizes.append)  # fmt: skip
        batcher.start()
        requests = [np.full((i + 1, 30), float(i), np.float32) for i in range(10)]
        results = await asyncio.gather(*(batcher.submit(r, explain=i % 2 == 0) for i, r in enumerate(requests)))
        await batcher.stop()
        assert all((p.contributions is not None) == (i % 2 == 0) for i, p in enumerate(results))
        return [p.proba for p in results]

    results = asyncio.run(scenario())
    for i, proba in enumerate(results):
        np.testing.assert_array_equal(proba, np.full(i + 1, float(i), np.float32))
    assert sum(sizes) == 55 and len(sizes) < 10  # requests queued behind the first ran together


def test_batcher_predicts_an_idle_large_request_inline_and_queues_the_rest() -> None:
    """Inline = on the caller's thread (the event loop); queued = in the model thread."""
    import threading

    threads: list[tuple[int, str]] = []

    def recording_model(matrix: np.ndarray) -> np.ndarray:
        threads.append((len(matrix), threading.current_thread().name))
        return fake_model(matrix)

    async def scenario() -> None:
        batcher = MicroBatcher(recording_model, lambda m: np.zeros((len(m), 31), np.float32), max_rows=100,
                               max_queue_rows=1000, inline_min_rows=8)  # fmt: skip
        batcher.start()
        loop_thread = threading.current_thread().name
        big = np.full((8, 30), 2.0, np.float32)
        result = await batcher.submit(big)
        np.testing.assert_array_equal(result.proba, np.full(8, 2.0, np.float32))
        assert threads == [(8, loop_thread)]
        threads.clear()
        # small, explained or oversized requests go through the model thread
        await batcher.submit(np.zeros((7, 30), np.float32))
        explained = await batcher.submit(big, explain=True)
        assert explained.contributions is not None
        await batcher.submit(np.zeros((101, 30), np.float32))
        assert [n for n, _ in threads] == [7, 8, 101]
        assert all(name.startswith("lfd-model") for _, name in threads)
        threads.clear()
        # while a queued batch runs, a large request queues behind it instead of racing it
        small = asyncio.ensure_future(batcher.submit(np.zeros((1, 30), np.float32)))
        await asyncio.sleep(0)  # queued; the batcher task takes it on its next step
        await asyncio.gather(small, batcher.submit(big))
        assert all(name.startswith("lfd-model") for _, name in threads)
        await batcher.stop()

    asyncio.run(scenario())


def test_batcher_inline_path_is_off_when_inline_min_rows_is_0() -> None:
    import threading

    names: list[str] = []

    def recording_model(matrix: np.ndarray) -> np.ndarray:
        names.append(threading.current_thread().name)
        return fake_model(matrix)

    async def scenario() -> None:
        batcher = MicroBatcher(recording_model, recording_model, max_rows=100, max_queue_rows=1000)
        batcher.start()
        await batcher.submit(np.zeros((50, 30), np.float32))
        await batcher.stop()

    asyncio.run(scenario())
    assert len(names) == 1 and names[0].startswith("lfd-model")


def test_batcher_sheds_beyond_the_queue_limit_with_retry_after() -> None:
    async def scenario() -> None:
        batcher = MicroBatcher(fake_model, fake_model, max_rows=10, max_queue_rows=5, retry_after_s=3)
        # not started: nothing drains, so the queue fills deterministically
        pending = asyncio.ensure_future(batcher.submit(np.zeros((5, 30), np.float32)))
        await asyncio.sleep(0)
        with pytest.raises(Overloaded) as raised:
            await batcher.submit(np.zeros((1, 30), np.float32))
        assert raised.value.retry_after_s == 3
        await batcher.stop()  # waiting requests are answered, not dropped
        with pytest.raises(Overloaded, match="shutting down"):
            await pending

    asyncio.run(scenario())


def test_batcher_reports_a_model_failure_to_every_waiting_request() -> None:
    def broken(matrix: np.ndarray) -> np.ndarray:
        raise RuntimeError("booster exploded")

    async def scenario() -> None:
        batcher = MicroBatcher(broken, broken, max_rows=10, max_queue_rows=100)
        batcher.start()
        results = await asyncio.gather(*(batcher.submit(np.zeros((1, 30), np.float32)) for _ in range(3)),
                                       return_exceptions=True)  # fmt: skip
        await batcher.stop()
        assert [str(r) for r in results] == ["booster exploded"] * 3

    asyncio.run(scenario())


def test_batcher_answers_503_to_requests_that_waited_too_long_instead_of_computing_them_late() -> None:
    def slow(matrix: np.ndarray) -> np.ndarray:
        import time

        time.sleep(0.2)
        return fake_model(matrix)

    async def scenario() -> list[object]:
        batcher = MicroBatcher(slow, slow, max_rows=1, max_queue_rows=100, max_queue_wait_s=0.05)
        batcher.start()
        results = await asyncio.gather(*(batcher.submit(np.zeros((1, 30), np.float32)) for _ in range(3)),
                                       return_exceptions=True)  # fmt: skip
        await batcher.stop()
        return results

    first, *rest = asyncio.run(scenario())
    assert not isinstance(first, Exception)  # the first ran at once
    assert all(isinstance(r, Overloaded) and "waited" in str(r) for r in rest)  # the others waited 0.2 s > 0.05 s
