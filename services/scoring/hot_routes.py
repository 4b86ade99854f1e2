"""The two hot HTTP routes, answered in front of BentoML's per-request API machinery.

``POST /score`` and ``POST /v2/models/{name}[/versions/{version}]/infer`` are what clients call once
per transaction; every other route (OpenAPI docs, ``/metrics``, health, OIP metadata) stays BentoML's.

Why (profiled with py-spy, docs/bench-scoring.md): for a one-transaction request BentoML's API
machinery — a pydantic request model, a JSON schema rebuilt for *every* response to find its media
type, an OpenTelemetry span, the context/exception middlewares and Starlette routing — cost more CPU
than the model call, on a worker whose event loop is the bottleneck. :class:`HotRoutes` is a plain
ASGI app wrapped around BentoML's whole app (``scoring.service._HotRoutesInFront``), so BentoML's
per-request layers (its request metrics, tracing, traffic timeout) do not run for the hot routes; they
keep their own request timeout (504) and the ``lfd_scoring_*`` metrics, flushed here before every
``/metrics`` scrape. It validates with the same code (``lfd.contract`` through the engine, the OIP
tensor rules in ``scoring.oip``), maps errors with ``scoring.errors`` (the one mapping); it only reads
bodies and writes JSON (orjson) more cheaply.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import suppress
from typing import Any

import orjson

from lfd.response import REQUEST_KEY, ScoreResponse, build_response

from .engine import ScoringEngine
from .errors import AnswerTimeout, InvalidInput, ScoringError, UnprocessableInput, error_body, http_headers, http_status
from .limits import ClientDisconnected, read_body
from .oip import rest
from .oip import tensors as T
from .oip.http_app import current_engine

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SCORE_PATH = "/score"
#: BentoML's metrics route: tallied request metrics are flushed before it answers (scoring.metrics).
METRICS_PATH = "/metrics"
INFER_PATH = re.compile(r"/v2/models/(?P<name>[^/]+)(?:/versions/(?P<version>[^/]+))?/infer")
#: The same routes as OpenTelemetry exclusion patterns (matched against the full URL): tracing them
#: is off, like the rest of BentoML's per-request machinery (sampling is off by default anyway).
TRACING_EXCLUDED = [r"/score$", r"/v2/models/[^/]+(/versions/[^/]+)?/infer$"]
JSON_HEADERS = [(b"content-type", b"application/json")]


def decode_json(body: bytes) -> Any:
    """orjson, falling back to the standard parser for the NaN/Infinity tokens that careless clients
    send (``json.dumps`` writes them), so the contract rejects those by field instead of a 422."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise UnprocessableInput("body", f"must be JSON ({e})") from e


async def send_json(send: Send, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
    body = orjson.dumps(payload)
    extra = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status,
                "headers": [*JSON_HEADERS, (b"content-length", str(len(body)).encode()), *extra]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


async def score(engine: ScoringEngine, body: bytes) -> ScoreResponse:
    """``POST /score``: ``{"transactions": [...]}`` → ``{"results": [...]}`` (``lfd.response``; see ``FraudScoring.score``)."""
    document = decode_json(body)
    if not isinstance(document, dict) or REQUEST_KEY not in document:
        raise InvalidInput(REQUEST_KEY, 'is required: the body must be {"transactions": [<records>]}')
    if len(document) > 1:  # the contract's policy holds for the envelope too: unknown fields are rejected
        unknown = sorted(k for k in document if k != REQUEST_KEY)[0]
        raise InvalidInput(unknown, 'unknown field (the body must be {"transactions": [<records>]})')
    return build_response(await engine.score_records(document[REQUEST_KEY]))


async def infer(
    engine: ScoringEngine, name: str, version: str, body: bytes, header_length: str | None
) -> dict[str, Any]:
    """``POST /v2/models/{name}[/versions/{version}]/infer``: an OIP v2 inference request (JSON or
    Triton's binary-data extension) → JSON outputs ``fraud_probability``, ``decision`` [, ``id``]."""
    engine.check_model_name(name, version)
    tensors, request_id, parameters = rest.parse_infer_request_with_parameters(
        body, header_length, engine.config.tensor_element_limit
    )
    explain = T.wants_fraud_reasons(parameters.get(T.REASONS_PARAMETER))
    matrix, ids = T.features_and_ids(tensors, engine.config.max_batch)
    result = await engine.infer(name, version, matrix, explain_fraud=explain)
    return rest.infer_response(
        result.model.name, result.model.version, request_id, result.proba, result.decision, ids,
        reasons=result.reasons, colour=engine.config.colour,
    )  # fmt: skip


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class HotRoutes:
    """ASGI middleware: answers the two hot routes itself, passes everything else to ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._engine: ScoringEngine | None = None

    def engine(self) -> ScoringEngine:
        """The worker's engine, looked up once (``current_engine`` costs ~2 % of a hot request)."""
        if self._engine is None:
            self._engine = current_engine()
        return self._engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path == METRICS_PATH:
                with suppress(ScoringError):  # no service instance yet: nothing was tallied
                    self.engine().metrics.flush()
            match = INFER_PATH.fullmatch(path) if path.startswith("/v2/models/") else None
            if path == SCORE_PATH or match:
                if scope["method"] != "POST":  # the infer path exists for POST only: 405, not the router's 404
                    rule = f"method {scope['method']} is not allowed; use POST"
                    body = {
                        "error": f"field 'method': {rule}",
                        "kind": "method_not_allowed",
                        "field": "method",
                        "rule": rule,
                    }
                    return await send_json(send, 405, body, {"Allow": "POST"})
                return await self._answer(send, receive, "score" if match is None else "infer", match, scope)
        await self.app(scope, receive, send)

    async def _answer(
        self, send: Send, receive: Receive, endpoint: str, match: re.Match[str] | None, scope: Scope
    ) -> None:
        try:
            engine = self.engine()
            config = engine.config
            payload: ScoreResponse | dict[str, Any]
            with engine.observe(endpoint, "http") as outcome:
                try:
                    body = await read_body(receive, config.max_body_bytes, config.body_timeout_s)
                except ClientDisconnected:
                    outcome["status"] = "499"  # nginx's "client closed request": nothing to answer
                    return
                try:
                    async with asyncio.timeout(config.request_timeout_s):
                        if match is None:
                            payload = await score(engine, body)
                        else:
                            header_length = _header(scope, b"inference-header-content-length")
                            payload = await infer(engine, match["name"], match["version"] or "", body, header_length)
                except TimeoutError as e:
                    raise AnswerTimeout(
                        f"not answered within {config.request_timeout_s:g} s (LFD_SCORING_REQUEST_TIMEOUT_S)"
                    ) from e
        except ScoringError as e:
            return await send_json(send, http_status(e), error_body(e), http_headers(e))
        await send_json(send, 200, payload)
