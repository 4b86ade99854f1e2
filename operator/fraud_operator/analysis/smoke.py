"""Smoke analysis: canned transactions through the preview Service give valid, in-range scores, quickly."""

from __future__ import annotations

import time
from typing import Any

import httpx

from fraud_operator.analysis import Unreachable, Verdict
from lfd.contract import EXAMPLE_TRANSACTION
from lfd.response import SCORE_PATH, ResponseError, build_request, parse_response

#: Real rows of the dev set (two legitimate, one fraud), as wire records.
CANNED_TRANSACTIONS: tuple[dict[str, Any], ...] = (
    {**EXAMPLE_TRANSACTION, "id": "smoke-legit-1"},
    {
        "id": "smoke-fraud-1",
        "Time": 4462.0,
        "V1": -2.30335,
        "V2": 1.759247,
        "V3": -0.359745,
        "V4": 2.330243,
        "V5": -0.821628,
        "V6": -0.075788,
        "V7": 0.56232,
        "V8": -0.399147,
        "V9": -0.238253,
        "V10": -1.525412,
        "V11": 2.032912,
        "V12": -6.560124,
        "V13": 0.022937,
        "V14": -1.470102,
        "V15": -0.698826,
        "V16": -2.282194,
        "V17": -4.781831,
        "V18": -2.615665,
        "V19": -1.334441,
        "V20": -0.430022,
        "V21": -0.294166,
        "V22": -0.932391,
        "V23": 0.172726,
        "V24": -0.08733,
        "V25": -0.156114,
        "V26": -0.542628,
        "V27": 0.039566,
        "V28": -0.153029,
        "Amount": 239.93,
    },
    {
        "id": "smoke-legit-2",
        "Time": 93.0,
        "V1": -0.853807,
        "V2": 0.127392,
        "V3": 1.267277,
        "V4": 0.678584,
        "V5": -1.029851,
        "V6": -0.487614,
        "V7": 1.836071,
        "V8": -0.298566,
        "V9": -0.922127,
        "V10": -0.645656,
        "V11": -0.026261,
        "V12": 0.029032,
        "V13": 0.40748,
        "V14": 0.230362,
        "V15": 1.127553,
        "V16": -0.256718,
        "V17": 0.008375,
        "V18": -0.1174,
        "V19": 0.426385,
        "V20": 0.776141,
        "V21": 0.252358,
        "V22": 0.179725,
        "V23": 0.476744,
        "V24": 0.724705,
        "V25": 0.526798,
        "V26": 0.502701,
        "V27": -0.159465,
        "V28": 0.002761,
        "Amount": 322.44,
    },
)


def check_results(sent: list[dict[str, Any]], body: Any) -> str | None:
    """Pure: what is wrong with a /score answer (None when it is right): the response contract
    (``lfd.response``: every field, probability in [0, 1], decision fraud/legit) and one result per
    transaction sent, in order."""
    try:
        results = parse_response(body)
    except ResponseError as e:
        return str(e)
    if len(results) != len(sent):
        return f"expected {len(sent)} results, got {len(results)}"
    for tx, result in zip(sent, results, strict=True):
        if result["id"] != tx["id"]:
            return f"result id {result['id']!r} != {tx['id']!r}"
    return None


def run_smoke(base_url: str, max_latency_ms: int, rounds: int = 3) -> Verdict:
    """Each canned transaction alone, ``rounds`` times, then all together; every answer valid and in time."""
    batches = [[tx] for tx in CANNED_TRANSACTIONS] * rounds + [list(CANNED_TRANSACTIONS)]
    slowest = 0.0
    with httpx.Client(timeout=max(5.0, max_latency_ms / 1000 * 2)) as client:
        for batch in batches:
            started = time.perf_counter()
            try:
                response = client.post(f"{base_url}{SCORE_PATH}", json=build_request(batch))
            except httpx.TransportError as e:
                raise Unreachable(f"smoke: {base_url} unreachable: {e}") from e
            elapsed_ms = (time.perf_counter() - started) * 1000
            slowest = max(slowest, elapsed_ms)
            if response.status_code == 503:  # loading or shedding load: not a verdict on the model, retry
                raise Unreachable(f"smoke: {base_url} answered 503: {response.text[:200]}")
            if response.status_code != 200:
                return Verdict("Failed", f"smoke: HTTP {response.status_code}: {response.text[:200]}")
            problem = check_results(batch, response.json())
            if problem:
                return Verdict("Failed", f"smoke: {problem}")
            if elapsed_ms > max_latency_ms:
                return Verdict("Failed", f"smoke: {elapsed_ms:.0f} ms > {max_latency_ms} ms")
    return Verdict("Passed", f"smoke: {len(batches)} requests valid, slowest {slowest:.0f} ms")
