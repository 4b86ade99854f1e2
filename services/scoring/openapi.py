"""The service's published OpenAPI document (``GET /docs.json``): every HTTP route, with the exact
request contract and every status code a client can get.

Why not BentoML's generated one: it described ``/score`` as "a list of any objects" answered by "any
object", documented neither 408/413/414/422/431/503 nor the error body, and left the OIP v2 routes out.
Fuzzing the service from that schema (schemathesis, tests/security) therefore tested little and
flagged valid rejections as failures. This document is built from ``lfd.contract`` (fields, order,
rules) and ``scoring.config`` (limits), so it cannot drift from what the code enforces; the Swagger UI
that BentoML serves at ``/`` reads it from the same path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from lfd.contract import (
    AMOUNT_FIELD,
    EXAMPLE_TRANSACTION,
    FEATURES,
    FLOAT32_MAX,
    ID_FIELD,
    MAX_ID_LENGTH,
    TIME_FIELD,
)
from lfd.response import DECISIONS, REQUEST_KEY, RESULTS_KEY, SCORE_PATH, ModelRef, Reason, ScoreResult

from .config import ScoringConfig

DOCS_PATH = "/docs.json"
Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _text(description: str) -> Schema:
    return {"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}}


def _error(description: str) -> Schema:
    return _json(_ref("Error"), description)


def _limit_errors(config: ScoringConfig) -> dict[str, Schema]:
    return {
        "408": _error(f"the body did not arrive within {config.body_timeout_s:g} s"),
        "413": _error(f"body over {config.max_body_bytes} bytes, or a tensor over the element limit"),
        "414": _error(f"request target over {config.max_url_bytes} bytes"),
        "431": _error(f"request headers over {config.max_header_bytes} bytes"),
    }


def schemas(config: ScoringConfig) -> dict[str, Schema]:
    number = {"type": "number"}
    # the float32 range: models score float32, so larger values are refused (lfd.contract.FLOAT32_MAX)
    features: dict[str, Schema] = {f: {**number, "minimum": -FLOAT32_MAX, "maximum": FLOAT32_MAX} for f in FEATURES}
    for field in (TIME_FIELD, AMOUNT_FIELD):
        features[field] = {**number, "minimum": 0, "maximum": FLOAT32_MAX}
    tensor_shape = {"type": "array", "items": {"type": "integer", "minimum": 0}}
    return {
        "Transaction": {
            "type": "object",
            "description": "One transaction in the wire contract (lfd.contract). Unknown fields are rejected.",
            "required": [ID_FIELD, *FEATURES],
            "properties": {ID_FIELD: {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH}, **features},
            "additionalProperties": False,
        },
        "ScoreRequest": {
            "type": "object",
            "required": [REQUEST_KEY],
            "properties": {
                REQUEST_KEY: {
                    "type": "array",
                    "description": "Ids must be unique within a request.",
                    "items": _ref("Transaction"),
                    "minItems": 1,
                    "maxItems": config.max_batch,
                }
            },
            "additionalProperties": False,
            "example": {REQUEST_KEY: [EXAMPLE_TRANSACTION]},
        },
        "Reason": {
            "type": "object",
            "required": list(Reason.__annotations__),
            "properties": {
                "feature": {"type": "string", "enum": list(FEATURES)},
                "value": number,
                "contribution": {**number, "description": "TreeSHAP, log-odds; positive pushes towards fraud"},
            },
        },
        "ModelRef": {
            "type": "object",
            "required": list(ModelRef.__annotations__),
            "properties": {"name": {"type": "string"}, "version": {"type": "string"}},
        },
        "ScoreResult": {
            "type": "object",
            "required": list(ScoreResult.__annotations__),  # the response contract: lfd.response
            "properties": {
                "id": {"type": "string"},
                "fraud_probability": {"type": "number", "minimum": 0, "maximum": 1},
                "decision": {"type": "string", "enum": list(DECISIONS)},
                "model": _ref("ModelRef"),
                "reasons": {"type": "array", "items": _ref("Reason")},
            },
        },
        "ScoreResponse": {
            "type": "object",
            "required": [RESULTS_KEY],
            "properties": {RESULTS_KEY: {"type": "array", "items": _ref("ScoreResult")}},
        },
        "Error": {
            "type": "object",
            "description": "Every error: 'field' and 'rule' say what was refused and why (client errors).",
            "required": ["error", "kind"],
            "properties": {
                "error": {"type": "string"},
                "kind": {"type": "string"},
                "field": {"type": "string"},
                "rule": {"type": "string"},
                "index": {"type": "integer", "minimum": 0},
                "retry_after_s": {"type": "integer"},
            },
        },
        "InferInput": {
            "type": "object",
            "required": ["name", "shape", "datatype"],
            "properties": {
                "name": {"type": "string"},
                "shape": tensor_shape,
                "datatype": {"type": "string"},
                "parameters": {"type": "object"},
                "data": {"type": "array"},
            },
        },
        "InferRequest": {
            "type": "object",
            "description": "OIP v2: 'input' FP32/FP64 [n,30] in lfd.contract.FEATURES order, optional 'id' BYTES [n].",
            "required": ["inputs"],
            "properties": {
                "id": {"type": "string"},
                "parameters": {"type": "object"},
                "inputs": {"type": "array", "items": _ref("InferInput"), "minItems": 1},
                "outputs": {"type": "array", "items": {"type": "object"}},
            },
        },
        "InferOutput": {
            "type": "object",
            "required": ["name", "shape", "datatype", "data"],
            "properties": {
                "name": {"type": "string"},
                "shape": tensor_shape,
                "datatype": {"type": "string"},
                "data": {"type": "array"},
            },
        },
        "InferResponse": {
            "type": "object",
            "required": ["model_name", "outputs"],
            "properties": {
                "model_name": {"type": "string"},
                "model_version": {"type": "string"},
                "id": {"type": "string"},
                "outputs": {"type": "array", "items": _ref("InferOutput")},
            },
        },
        "TensorMetadata": {
            "type": "object",
            "required": ["name", "datatype", "shape"],
            "properties": {"name": {"type": "string"}, "datatype": {"type": "string"}, "shape": {"type": "array"}},
        },
        "ModelMetadata": {
            "type": "object",
            "required": ["name", "versions", "platform", "inputs", "outputs"],
            "properties": {
                "name": {"type": "string"},
                "versions": {"type": "array", "items": {"type": "string"}},
                "platform": {"type": "string"},
                "inputs": {"type": "array", "items": _ref("TensorMetadata")},
                "outputs": {"type": "array", "items": _ref("TensorMetadata")},
                "parameters": {"type": "object"},
            },
        },
    }


def _model_paths(config: ScoringConfig) -> dict[str, Schema]:
    name = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}, "example": config.model_name}
    version = {"name": "version", "in": "path", "required": True, "schema": {"type": "string"},
               "example": config.model_version}  # fmt: skip
    not_found = _error("a model name/version this server does not serve")
    not_ready = _error("the model is loading or failed to load")
    paths: dict[str, Schema] = {}
    for prefix, params in (("/v2/models/{name}", [name]), ("/v2/models/{name}/versions/{version}", [name, version])):
        paths[prefix] = {
            "get": {
                "summary": "OIP v2 model metadata",
                "parameters": params,
                "responses": {"200": _json(_ref("ModelMetadata"), "metadata"), "404": not_found, "503": not_ready},
            }
        }
        ready_body = {
            "type": "object",
            "required": ["name", "ready"],
            "properties": {"name": {"type": "string"}, "ready": {"type": "boolean"}},
        }
        paths[prefix + "/ready"] = {
            "get": {
                "summary": "OIP v2 model readiness",
                "parameters": params,
                "responses": {"200": _json(ready_body, "ready"), "404": not_found, "503": not_ready},
            }
        }
        paths[prefix + "/infer"] = {
            "post": {
                "summary": "OIP v2 inference (JSON tensors, or Triton's binary-data extension)",
                "parameters": params,
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("InferRequest")}}},
                "responses": {
                    "200": _json(_ref("InferResponse"), "fraud_probability FP32 [n], decision INT32 [n], id BYTES [n]"),
                    "400": _error("a tensor or value breaks a rule: 'field' names the tensor or feature"),
                    "404": not_found,
                    "422": _error("the body is not a JSON inference request"),
                    **_limit_errors(config),
                    "503": _error("model not ready, or overloaded (Retry-After)"),
                },
            }
        }
    return paths


def build(config: ScoringConfig) -> Schema:
    """The whole document (pure)."""
    live = {"type": "object", "required": ["live"], "properties": {"live": {"type": "boolean"}}}
    ready = {
        "type": "object",
        "required": ["ready"],
        "properties": {"ready": {"type": "boolean"}, "reason": {"type": "string"}},
    }
    server = {
        "type": "object",
        "required": ["name", "version", "extensions"],
        "properties": {
            "name": {"type": "string"},
            "version": {"type": "string"},
            "extensions": {"type": "array", "items": {"type": "string"}},
        },
    }
    # Inline (not a $ref), with the documented example on `transactions` as BentoML published it: clients
    # and tests that read the request schema directly keep working.
    score_request = schemas(config)["ScoreRequest"]
    score_request["properties"][REQUEST_KEY]["examples"] = [[EXAMPLE_TRANSACTION]]
    paths: dict[str, Schema] = {
        SCORE_PATH: {
            "post": {
                "summary": "Score transactions: probability, decision and top reason codes",
                "requestBody": {"required": True, "content": {"application/json": {"schema": score_request}}},
                "responses": {
                    "200": _json(_ref("ScoreResponse"), "one result per transaction, in request order"),
                    "400": _error("a record breaks the contract: 'field', 'rule' and 'index' say where"),
                    "422": _error("the body is not JSON"),
                    **_limit_errors(config),
                    "503": _error("model not ready, or overloaded (Retry-After)"),
                },
            }
        },
        "/v2": {"get": {"summary": "OIP v2 server metadata", "responses": {"200": _json(server, "metadata")}}},
        "/v2/health/live": {"get": {"summary": "OIP v2 liveness", "responses": {"200": _json(live, "live")}}},
        "/v2/health/ready": {
            "get": {
                "summary": "OIP v2 readiness",
                "responses": {"200": _json(ready, "ready"), "503": _json(ready, "not ready, with the reason")},
            }
        },
        **_model_paths(config),
        "/livez": {"get": {"summary": "liveness (BentoML)", "responses": {"200": _text("live")}}},
        "/readyz": {
            "get": {"summary": "readiness (BentoML)", "responses": {"200": _text("ready"), "503": _text("not ready")}}
        },
        "/healthz": {"get": {"summary": "liveness (BentoML, deprecated)", "responses": {"200": _text("live")}}},
        "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": _text("exposition format")}}},
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "lfd-scoring",
            "version": "0.1.0",
            "description": "Real-time card-fraud scoring (docs/scoring.md, docs/security.md).",
        },
        "paths": paths,
        "components": {"schemas": schemas(config)},
    }


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class OpenAPIDocs:
    """ASGI middleware answering ``GET /docs.json`` with :func:`build` (in place of BentoML's)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.body = orjson.dumps(build(ScoringConfig.from_env()))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD") and scope["path"] == DOCS_PATH:
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(self.body)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else self.body})
            return
        await self.app(scope, receive, send)
