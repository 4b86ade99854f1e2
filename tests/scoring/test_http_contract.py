"""Contract tests against the running service over HTTP: /score, OIP v2 REST, validation, overload."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from lfd.contract import FEATURES
from lfd_dev.scoring_process import ScoringProcess
from scoring.service import EXAMPLE_INPUT, EXAMPLE_TRANSACTION

from .conftest import TEST_MAX_BATCH

pytestmark = pytest.mark.integration
MODEL = "fraud-detector"


def records(frame: pd.DataFrame, n: int, start: int = 0) -> list[dict[str, Any]]:
    rows = frame.iloc[start : start + n]
    return [
        {"id": f"tx-{start + i}", **{f: float(row[f]) for f in FEATURES}} for i, (_, row) in enumerate(rows.iterrows())
    ]


def with_change(**changes: Any) -> dict[str, Any]:
    record = {**EXAMPLE_TRANSACTION, **changes}
    return {k: v for k, v in record.items() if v is not DELETE}


DELETE = object()


def test_example_input_is_scored_with_three_reason_codes(service: ScoringProcess) -> None:
    response = httpx.post(f"{service.url}/score", json=EXAMPLE_INPUT, timeout=10)
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert result["id"] == EXAMPLE_TRANSACTION["id"]
    assert 0.0 <= result["fraud_probability"] <= 1.0
    assert result["decision"] in ("fraud", "legit")
    assert result["model"] == {"name": MODEL, "version": "bundle-test"}
    assert len(result["reasons"]) == 3
    magnitudes = [abs(r["contribution"]) for r in result["reasons"]]
    assert magnitudes == sorted(magnitudes, reverse=True)
    for reason in result["reasons"]:
        assert reason["value"] == EXAMPLE_TRANSACTION[reason["feature"]]


def test_decisions_follow_the_threshold_on_real_frauds(service: ScoringProcess, dev_frame: pd.DataFrame) -> None:
    frauds = dev_frame[dev_frame["Class"] == 1].head(50)
    response = httpx.post(f"{service.url}/score", json={"transactions": records(frauds, 50)}, timeout=30)
    results = response.json()["results"]
    assert [r["id"] for r in results] == [f"tx-{i}" for i in range(50)]
    assert all((r["decision"] == "fraud") == (r["fraud_probability"] >= 0.4) for r in results)
    assert sum(r["decision"] == "fraud" for r in results) > 25  # a real model flags most real frauds


BAD_SCORE_REQUESTS = {
    "unknown field": ({"transactions": [with_change(amount=1.0)]}, "amount", "unknown field"),
    "missing field": ({"transactions": [with_change(V9=DELETE)]}, "V9", "is required"),
    "missing id": ({"transactions": [with_change(id=DELETE)]}, "id", "is required"),
    "non-numeric": ({"transactions": [with_change(V3="1.5")]}, "V3", "must be a number"),
    "boolean": ({"transactions": [with_change(V3=True)]}, "V3", "must be a number"),
    "NaN": ({"transactions": [with_change(V3=math.nan)]}, "V3", "must be finite"),
    "+inf": ({"transactions": [with_change(V4=math.inf)]}, "V4", "must be finite"),
    "-inf": ({"transactions": [with_change(V5=-math.inf)]}, "V5", "must be finite"),
    "negative Amount": ({"transactions": [with_change(Amount=-0.01)]}, "Amount", "must be >= 0"),
    "empty batch": ({"transactions": []}, "transactions", "must not be empty"),
    "duplicate ids": ({"transactions": [EXAMPLE_TRANSACTION, EXAMPLE_TRANSACTION]}, "id", "duplicate id"),
    "batch over max": (
        {"transactions": [with_change(id=f"t{i}") for i in range(TEST_MAX_BATCH + 1)]},
        "transactions",
        f"exceeds the maximum of {TEST_MAX_BATCH}",
    ),
}


@pytest.mark.parametrize("case", BAD_SCORE_REQUESTS, ids=list(BAD_SCORE_REQUESTS))
def test_score_rejects_contract_violations_naming_field_and_rule(service: ScoringProcess, case: str) -> None:
    body, field, rule = BAD_SCORE_REQUESTS[case]
    # json.dumps writes NaN/Infinity tokens, as a careless client would
    response = httpx.post(
        f"{service.url}/score", content=json.dumps(body), headers={"content-type": "application/json"}, timeout=30
    )
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["field"] == field
    assert rule in error["rule"]


@pytest.mark.parametrize(
    "body", ["{not json", json.dumps({"transactions": 5}), json.dumps({})], ids=["bad JSON", "not a list", "no key"]
)
def test_score_rejects_malformed_bodies_naming_the_problem(service: ScoringProcess, body: str) -> None:
    response = httpx.post(f"{service.url}/score", content=body, headers={"content-type": "application/json"})
    assert response.status_code in (400, 422), response.text
    assert "error" in response.json()


def oip_body(matrix: Any, datatype: str = "FP32", shape: list[int] | None = None, **extra: Any) -> dict[str, Any]:
    data = np.asarray(matrix, dtype=np.float64)
    tensor = {"name": "input", "datatype": datatype, "shape": shape or list(data.shape), "data": data.tolist()}
    return {"inputs": [tensor, *extra.get("more", [])]}


def example_matrix(n: int = 2) -> np.ndarray:
    return np.array([[EXAMPLE_TRANSACTION[f] for f in FEATURES]] * n, dtype=np.float64)


def test_oip_rest_health_metadata_and_infer(service: ScoringProcess) -> None:
    assert httpx.get(f"{service.url}/v2/health/live").json() == {"live": True}
    assert httpx.get(f"{service.url}/v2/health/ready").json() == {"ready": True}
    assert httpx.get(f"{service.url}/v2/models/{MODEL}/ready").status_code == 200
    metadata = httpx.get(f"{service.url}/v2/models/{MODEL}").json()
    assert metadata["inputs"][0] == {"name": "input", "datatype": "FP32", "shape": [-1, 30]}
    assert metadata["parameters"]["features"] == list(FEATURES)
    ids = {"name": "id", "datatype": "BYTES", "shape": [2], "data": ["a", "b"]}
    response = httpx.post(
        f"{service.url}/v2/models/{MODEL}/infer", json={"id": "r1", **oip_body(example_matrix(), more=[ids])}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    outputs = {o["name"]: o for o in body["outputs"]}
    assert body["id"] == "r1" and body["model_version"] == "bundle-test"
    assert outputs["fraud_probability"]["shape"] == [2] and outputs["id"]["data"] == ["a", "b"]
    score = httpx.post(f"{service.url}/score", json=EXAMPLE_INPUT).json()["results"][0]["fraud_probability"]
    assert outputs["fraud_probability"]["data"][0] == pytest.approx(score, abs=1e-7)


BAD_OIP_REQUESTS = {
    "wrong width": (oip_body(np.zeros((2, 29))), "input", "shape must be [n, 30]"),
    "1-d shape": (oip_body(np.zeros(30), shape=[30]), "input", "shape must be [n, 30]"),
    "shape/data mismatch": (oip_body(np.zeros((2, 30)), shape=[3, 30]), "input", "needs 90"),
    "datatype INT64": (oip_body(np.zeros((1, 30)), datatype="INT64"), "input", "datatype must be FP32 or FP64"),
    "datatype BYTES": (oip_body(np.zeros((1, 30)), datatype="BYTES"), "input", "datatype must be FP32 or FP64"),
    "strings as data": (
        {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 30], "data": ["1"] * 30}]},
        "input",
        "data must be numbers",
    ),
    "empty batch": (oip_body(np.zeros((0, 30)), shape=[0, 30]), "input", "must not be empty"),
    "batch over max": (oip_body(np.zeros((TEST_MAX_BATCH + 1, 30))), "input", "exceeds the maximum"),
    "NaN": (oip_body(np.where(np.eye(1, 30, 7) == 1, np.nan, example_matrix(1))), "V7", "must be finite"),
    "negative Amount": (oip_body(example_matrix(1) * np.where(np.arange(30) == 29, -1, 1)), "Amount", "must be >= 0"),
    "unknown input": (
        oip_body(example_matrix(1), more=[{"name": "extra", "datatype": "FP32", "shape": [1], "data": [1]}]),
        "extra",
        "unknown input",
    ),
    "no inputs": ({"inputs": []}, "inputs", "non-empty list"),
    "ids not one per row": (
        oip_body(example_matrix(2), more=[{"name": "id", "datatype": "BYTES", "shape": [1], "data": ["a"]}]),
        "id",
        "one id per row",
    ),
}


@pytest.mark.parametrize("case", BAD_OIP_REQUESTS, ids=list(BAD_OIP_REQUESTS))
def test_oip_rest_rejects_bad_tensors_naming_field_and_rule(service: ScoringProcess, case: str) -> None:
    body, field, rule = BAD_OIP_REQUESTS[case]
    response = httpx.post(
        f"{service.url}/v2/models/{MODEL}/infer",
        content=json.dumps(body),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field
    assert rule in response.json()["rule"]


def test_oip_rest_unknown_model_is_404_and_non_json_is_422(service: ScoringProcess) -> None:
    assert httpx.post(f"{service.url}/v2/models/other/infer", json=oip_body(example_matrix())).status_code == 404
    assert httpx.get(f"{service.url}/v2/models/{MODEL}/versions/999").status_code == 404
    assert httpx.post(f"{service.url}/v2/models/{MODEL}/infer", content=b"\xff\x00").status_code == 422


def test_openapi_documents_score_with_the_example_input(service: ScoringProcess) -> None:
    spec = httpx.get(f"{service.url}/docs.json").json()
    schema = spec["paths"]["/score"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["transactions"]["examples"] == [EXAMPLE_INPUT["transactions"]]


def test_overload_is_shed_with_503_and_retry_after_never_dropped(
    service: ScoringProcess, dev_frame: pd.DataFrame
) -> None:
    """A burst of full batches (explained with TreeSHAP) overflows the 2,000-row queue: every request gets
    either its scores or a 503 with Retry-After; none disappears or fails otherwise."""
    body = {"transactions": records(dev_frame, TEST_MAX_BATCH)}

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=120) as client:
            return await asyncio.gather(*(client.post(f"{service.url}/score", json=body) for _ in range(12)))

    responses = asyncio.run(burst())
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 503}, statuses
    assert 200 in statuses and 503 in statuses, statuses
    for shed in (r for r in responses if r.status_code == 503):
        assert shed.headers["Retry-After"] == "1"
        assert shed.json()["kind"] == "overloaded"
    for ok in (r for r in responses if r.status_code == 200):
        assert len(ok.json()["results"]) == TEST_MAX_BATCH
