"""Every resource limit of the scoring service, reached for real over HTTP and gRPC: each is
configurable (``LIMITS`` in conftest sets them through ``LFD_SCORING_*``), each answers with its own
status and names what was refused, and a flood of maximum-size requests leaves the worker's memory
bounded (RSS measured before and after, in the test)."""

from __future__ import annotations

import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np
import psutil
import pytest

from lfd.contract import EXAMPLE_TRANSACTION, N_FEATURES
from lfd_dev.scoring_process import ScoringProcess
from tests.security.conftest import LIMITS, MODEL_NAME

pytestmark = pytest.mark.integration
INFER = f"/v2/models/{MODEL_NAME}/infer"


def score_body(rows: int) -> bytes:
    return json.dumps({"transactions": [{**EXAMPLE_TRANSACTION, "id": f"tx-{i}"} for i in range(rows)]}).encode()


def infer_body(rows: int) -> bytes:
    data = np.full((rows, N_FEATURES), 0.5).round(3).tolist()
    return json.dumps(
        {"inputs": [{"name": "input", "datatype": "FP32", "shape": [rows, N_FEATURES], "data": data}]}
    ).encode()


def refused(response: httpx.Response, status: int, field: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["field"] == field and body["rule"], body
    return body


def raw_exchange(service: ScoringProcess, head: bytes, body_parts: list[bytes], pause_s: float = 0.0) -> bytes:
    """Speak HTTP/1.1 by hand (what a hostile client does): head, then body parts with pauses."""
    with socket.create_connection(("127.0.0.1", service.http_port), timeout=30) as sock:
        sock.sendall(head)
        for part in body_parts:
            time.sleep(pause_s)
            try:
                sock.sendall(part)
            except OSError:
                break  # the server answered and closed: read what it said
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
        return b"".join(chunks)


def test_largest_allowed_score_request_is_scored(hardened_service: ScoringProcess) -> None:
    body = score_body(LIMITS["MAX_BATCH"])
    assert len(body) < LIMITS["MAX_BODY_BYTES"]
    response = httpx.post(hardened_service.url + "/score", content=body, timeout=120)
    assert response.status_code == 200, response.text[:300]
    assert len(response.json()["results"]) == LIMITS["MAX_BATCH"]


def test_rows_over_max_batch_are_400_naming_transactions(hardened_service: ScoringProcess) -> None:
    body = json.dumps({"transactions": [{**EXAMPLE_TRANSACTION, "id": str(i)} for i in range(1_001)]})
    body_bytes = body.replace(", ", ",").replace(": ", ":").encode()  # compact: stays under the body limit
    assert len(body_bytes) < LIMITS["MAX_BODY_BYTES"]
    response = httpx.post(hardened_service.url + "/score", content=body_bytes, timeout=60)
    assert "exceeds the maximum of 1000" in refused(response, 400, "transactions")["rule"]


def test_body_over_limit_by_content_length_is_413(hardened_service: ScoringProcess) -> None:
    response = httpx.post(hardened_service.url + "/score", content=b"{" * (LIMITS["MAX_BODY_BYTES"] + 1), timeout=60)
    assert "exceeds the limit" in refused(response, 413, "body")["rule"]
    assert response.headers["connection"] == "close"


def test_chunked_body_over_limit_is_413_while_reading(hardened_service: ScoringProcess) -> None:
    """No Content-Length to check up front: the limit holds while the body streams in."""

    def chunks() -> Any:
        for _ in range(LIMITS["MAX_BODY_BYTES"] // 65_536 + 2):
            yield b" " * 65_536

    response = httpx.post(hardened_service.url + "/score", content=chunks(), timeout=60)
    assert "the body limit" in refused(response, 413, "body")["rule"]


def test_slow_body_is_408_after_the_body_timeout(hardened_service: ScoringProcess) -> None:
    head = b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
    start = time.monotonic()
    answer = raw_exchange(hardened_service, head, [b'{"transactions"'])  # then stalls
    elapsed = time.monotonic() - start
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"field":"body"' in answer
    assert LIMITS["BODY_TIMEOUT_S"] <= elapsed < LIMITS["BODY_TIMEOUT_S"] + 10


def test_url_over_limit_is_414(hardened_service: ScoringProcess) -> None:
    response = httpx.get(hardened_service.url + "/v2/health/live?" + "q" * LIMITS["MAX_URL_BYTES"], timeout=30)
    refused(response, 414, "url")


def test_headers_over_limit_are_431(hardened_service: ScoringProcess) -> None:
    headers = {f"x-h{i}": "v" * 100 for i in range(LIMITS["MAX_HEADER_BYTES"] // 100)}
    response = httpx.post(hardened_service.url + "/score", headers=headers, content=score_body(1), timeout=30)
    refused(response, 431, "headers")


def test_tensor_over_element_limit_is_413_naming_the_tensor(hardened_service: ScoringProcess) -> None:
    shape = [LIMITS["MAX_TENSOR_ELEMENTS"] + 1]  # [n, 30] shapes meet the batch rule (400) instead
    request = {"inputs": [{"name": "input", "datatype": "FP32", "shape": shape, "data": [0.0]}]}
    response = httpx.post(hardened_service.url + INFER, json=request, timeout=30)
    assert "more than the limit" in refused(response, 413, "input")["rule"]


def test_huge_declared_shape_costs_nothing(hardened_service: ScoringProcess) -> None:
    request = {"inputs": [{"name": "input", "datatype": "FP64", "shape": [2**62, 2**62], "data": []}]}
    response = httpx.post(hardened_service.url + INFER, json=request, timeout=30)
    refused(response, 413, "input")


def worker_rss_mb(service: ScoringProcess) -> float:
    """RSS of the BentoML worker(s): the processes under `lfd serve` that hold the model."""
    assert service.process is not None
    root = psutil.Process(service.process.pid)
    return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 2**20


def test_memory_stays_bounded_under_a_flood_of_max_size_requests(hardened_service: ScoringProcess) -> None:
    """200 maximum-size requests (1,000-row OIP tensors and /score batches, plus bodies just over the
    limit), 4 at a time. Warm-up first, so the baseline includes the allocator's steady state."""
    url = hardened_service.url
    largest_infer, largest_score = infer_body(LIMITS["MAX_BATCH"]), score_body(LIMITS["MAX_BATCH"])
    oversize = b"[" * (LIMITS["MAX_BODY_BYTES"] + 1)

    def send(i: int) -> int:
        kind = i % 4
        if kind == 0:
            return httpx.post(url + "/score", content=largest_score, timeout=120).status_code
        if kind == 3:
            return httpx.post(url + INFER, content=oversize, timeout=120).status_code
        return httpx.post(url + INFER, content=largest_infer, timeout=120).status_code

    with ThreadPoolExecutor(4) as pool:
        assert set(pool.map(send, range(12))) == {200, 413}
        before = worker_rss_mb(hardened_service)
        statuses = list(pool.map(send, range(200)))
    after = worker_rss_mb(hardened_service)
    print(f"worker RSS before {before:.0f} MB, after 200 max-size requests {after:.0f} MB")
    assert statuses.count(413) == 50 and statuses.count(200) == 150, sorted(set(statuses))
    assert after - before < 150, f"RSS grew {after - before:.0f} MB ({before:.0f} -> {after:.0f})"


def test_a_hot_route_not_answered_in_time_is_504(bundle_dir: Any, tmp_path: Any) -> None:
    """The hot routes run in front of BentoML's traffic timeout, so they keep their own: a 1,000-row /score
    (TreeSHAP for every row, tens of ms) against a 1 ms request timeout is a 504 naming the setting."""
    env = {"LFD_SCORING_REQUEST_TIMEOUT_S": "0.001", "LFD_SCORING_MODEL_VERSION": "timeout-test"}
    service = ScoringProcess(["--model-dir", str(bundle_dir), "--max-batch", "1000"], tmp_path / "service.log", env)
    try:
        service.start_ready()
        response = httpx.post(service.url + "/score", content=score_body(1_000), timeout=60)
        assert response.status_code == 504, response.text
        body = response.json()
        assert body["kind"] == "timeout" and "LFD_SCORING_REQUEST_TIMEOUT_S" in body["error"], body
    finally:
        service.stop()
