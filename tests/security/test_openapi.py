"""The published OpenAPI document (scoring/openapi.py) against the code it describes (pure, no service)."""

from __future__ import annotations

import pytest

from lfd.contract import FLOAT32_MAX, WIRE_FIELDS
from lfd.response import ScoreResult
from scoring.config import ScoringConfig
from scoring.oip.http_app import build_app
from scoring.openapi import build

pytestmark = pytest.mark.unit


def test_every_route_of_the_service_is_documented() -> None:
    paths = set(build(ScoringConfig())["paths"])
    oip = {"/v2" + route.path.rstrip("/") for route in build_app().routes}  # type: ignore[attr-defined]
    infer = {"/v2/models/{name}/infer", "/v2/models/{name}/versions/{version}/infer"}  # hot routes
    assert oip | infer | {"/score", "/metrics", "/livez", "/readyz", "/healthz"} == paths


def test_request_and_response_schemas_are_the_contracts() -> None:
    schemas = build(ScoringConfig(max_batch=123))["components"]["schemas"]
    transaction = schemas["Transaction"]
    assert transaction["required"] == list(WIRE_FIELDS) and transaction["additionalProperties"] is False
    assert transaction["properties"]["V1"]["maximum"] == FLOAT32_MAX
    assert schemas["ScoreRequest"]["properties"]["transactions"]["maxItems"] == 123
    assert schemas["ScoreResult"]["required"] == list(ScoreResult.__annotations__)


def test_limits_in_the_document_follow_the_configuration() -> None:
    doc = build(ScoringConfig(max_body_bytes=1234, max_url_bytes=99))
    responses = doc["paths"]["/score"]["post"]["responses"]
    assert "1234" in responses["413"]["description"] and "99" in responses["414"]["description"]
