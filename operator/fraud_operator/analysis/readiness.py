"""Why a preview is not ready, in the scoring service's own words.

A model the service cannot load (a registry version whose bundle is missing, a wrong signature) keeps the
service live but never ready: it retries the load with backoff and answers ``GET /v2/health/ready`` with 503 and
``{"ready": false, "reason": "failed: <error> (attempt n; next in s)"}`` (``services/scoring``). Past the
progress deadline the operator reads that structured ``reason`` through the preview Service and fails the
revision with it.
"""

from __future__ import annotations

from typing import Any

import httpx

from fraud_operator.analysis import Unreachable, Verdict

READY_PATH = "/v2/health/ready"


def not_ready_reason(status_code: int, body: Any, text: str) -> str | None:
    """Pure: the reason a readiness answer gives (None: the service is ready). Prefers the structured field."""
    if status_code == 200:
        return None
    if isinstance(body, dict) and isinstance(body.get("reason"), str) and body["reason"]:
        return str(body["reason"])
    return f"HTTP {status_code}: {text[:300]}"


def run_readiness(base_url: str | None, colour: str, deadline_s: int, unreachable: str = "") -> Verdict:
    """Failed with the service's reason; ``Unreachable`` (no verdict) when it is ready after all: then an
    analysis is merely still waiting (e.g. shadow traffic accruing) and the deadline does not apply."""
    prefix = f"preview {colour} not ready within progressDeadlineSeconds={deadline_s}"
    if base_url is None:
        return Verdict("Failed", f"{prefix}: preview Service unreachable: {unreachable}")
    try:
        response = httpx.get(f"{base_url}{READY_PATH}", timeout=5.0)
    except httpx.HTTPError as e:
        return Verdict("Failed", f"{prefix}: preview Service unreachable: {e}")
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    reason = not_ready_reason(response.status_code, body, response.text)
    if reason is None:
        raise Unreachable(f"preview {colour} is ready; the pre-promotion analysis is still waiting")
    return Verdict("Failed", f"{prefix}: {reason}")
