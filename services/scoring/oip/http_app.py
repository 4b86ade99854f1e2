"""OIP v2 REST routes, mounted by the BentoML service under ``/v2`` (thin handlers over the engine).

Plain Starlette rather than BentoML ``@api`` methods: the OIP paths carry the model name.
``POST .../infer`` is not here: it is a hot route, answered in front of BentoML by
:mod:`scoring.hot_routes` (which also owns the binary-data extension's raw body and header).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..engine import ScoringEngine
from ..errors import ModelNotReady, ScoringError, error_body, http_headers, http_status
from . import tensors as T

SERVER_NAME = "live-fraud-detector"
SERVER_VERSION = "0.1.0"


def current_engine() -> ScoringEngine:
    """The engine of the worker's service instance (ModelNotReady until BentoML created it)."""
    import bentoml

    service = bentoml.get_current_service()
    engine = getattr(service, "engine", None)
    if not isinstance(engine, ScoringEngine):
        raise ModelNotReady("service is still starting")
    return engine


def error_response(error: ScoringError) -> JSONResponse:
    return JSONResponse(error_body(error), status_code=http_status(error), headers=http_headers(error))


Handler = Callable[[Request], Awaitable[Response]]


def _mapped(handler: Callable[[Request, ScoringEngine], Awaitable[Response]]) -> Handler:
    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request, current_engine())
        except ScoringError as e:
            return error_response(e)

    return wrapper


async def server_metadata(request: Request, engine: ScoringEngine) -> Response:
    return JSONResponse({"name": SERVER_NAME, "version": SERVER_VERSION, "extensions": ["binary_tensor_data"]})


async def live(request: Request, engine: ScoringEngine) -> Response:
    return JSONResponse({"live": True})


async def ready(request: Request, engine: ScoringEngine) -> Response:
    body: dict[str, Any] = {"ready": engine.ready}
    if not engine.ready:
        body["reason"] = engine.status
    return JSONResponse(body, status_code=200 if engine.ready else 503)


async def model_metadata(request: Request, engine: ScoringEngine) -> Response:
    model = engine.check_model_name(request.path_params["name"], request.path_params.get("version", ""))
    body = T.model_metadata(model.name, model.version)
    body["parameters"].update({"threshold": model.threshold, "flavor": model.flavor, "source": model.source})
    return JSONResponse(body)


async def model_ready(request: Request, engine: ScoringEngine) -> Response:
    engine.check_model_name(request.path_params["name"], request.path_params.get("version", ""))
    return JSONResponse({"name": request.path_params["name"], "ready": True})


def build_app() -> Starlette:
    routes = [Route("/", _mapped(server_metadata), methods=["GET"])]
    routes += [
        Route("/health/live", _mapped(live), methods=["GET"]),
        Route("/health/ready", _mapped(ready), methods=["GET"]),
    ]
    for prefix in ("/models/{name}", "/models/{name}/versions/{version}"):
        routes += [
            Route(prefix, _mapped(model_metadata), methods=["GET"]),
            Route(prefix + "/ready", _mapped(model_ready), methods=["GET"]),
        ]
    return Starlette(routes=routes, exception_handlers={404: _route_error, 405: _route_error})


async def _route_error(request: Request, exc: Exception) -> Response:
    """Router misses (no such /v2 path or method) answer JSON like every other error, not Starlette's
    plain text (schemathesis flagged the undocumented content type)."""
    status = getattr(exc, "status_code", 404)
    rule = "no such OIP v2 route" if status == 404 else f"method {request.method} is not allowed here"
    body = {"error": f"field 'path': {rule}", "kind": "not_found" if status == 404 else "method_not_allowed"}
    headers = getattr(exc, "headers", None)  # 405 carries Allow (schemathesis checks it)
    return JSONResponse({**body, "field": "path", "rule": rule}, status_code=status, headers=headers)
