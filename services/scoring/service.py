"""The scoring service: one BentoML class serving ``POST /score``, OIP v2 REST (``/v2``) and, from the
same worker, OIP v2 gRPC. Run it with ``lfd serve`` (see ``scoring.cli``) or
``bentoml serve scoring.service:FraudScoring`` with ``LFD_SCORING_*`` variables set.

Lifecycle: the worker starts serving at once (liveness), loads the model in the background and is
ready (``/readyz``, ``/v2/health/ready``, gRPC ``ServerReady``) only after the load and a warm-up
prediction succeeded. A failed load keeps the service live but not ready, with the reason in
``/v2/health/ready``.
"""

from __future__ import annotations

import logging
import os
from typing import Annotated, Any

import bentoml
from pydantic import Field

from lfd.contract import EXAMPLE_TRANSACTION
from lfd.response import build_response

from .config import ScoringConfig
from .engine import ScoringEngine
from .hot_routes import TRACING_EXCLUDED, HotRoutes
from .limits import RequestLimits
from .metrics import ScoringMetrics
from .oip.http_app import build_app
from .openapi import OpenAPIDocs

log = logging.getLogger(__name__)

#: The contract's example transaction, shown in the OpenAPI docs and reused by the tests, so the
#: documented example is always a valid request.
EXAMPLE_INPUT: dict[str, Any] = {"transactions": [EXAMPLE_TRANSACTION]}

TRANSACTIONS_DOC = (
    "Transactions in the wire contract (lfd.contract): an 'id' plus Time, V1..V28, Amount as numbers. "
    "Unknown fields are rejected; at most LFD_SCORING_MAX_BATCH (default 10,000) per request."
)

oip_app = build_app()


#: BentoML's traffic timeout (504 after this many seconds), read when the worker imports this module.
REQUEST_TIMEOUT_S = ScoringConfig.from_env().request_timeout_s

#: Per-request access logs cost ~10% of a single-transaction request; off unless asked for.
ACCESS_LOG = os.environ.get("LFD_SCORING_ACCESS_LOG", "false").lower() in ("1", "true", "yes")


# One worker: the model thread and the event loop already use both cores of a small pod; scale
# with replicas. No BentoML max_concurrency: overload is shed by our batcher with a Retry-After.
# The hot routes (POST /score, POST /v2/models/.../infer) are answered by scoring.hot_routes in front of
# BentoML's API machinery and are not traced (see there); everything else is BentoML's.
@bentoml.service(
    name="lfd-scoring",
    workers=1,
    # BentoML's timeout middleware leaves a timer (and its future) alive per request for this long, whatever
    # the request took: at 1,000 req/s a 60 s timeout keeps 60,000 of them for the garbage collector to walk.
    # 10 s still covers a 10,000-row /score (~2 s here); queued requests are shed after 2 s anyway.
    traffic={"timeout": REQUEST_TIMEOUT_S},
    logging={"access": {"enabled": ACCESS_LOG}},
    tracing={"excluded_urls": TRACING_EXCLUDED},
)
@bentoml.asgi_app(oip_app, path="/v2", name="oip-v2")
class FraudScoring:
    """Real-time card-fraud scoring with reason codes, over HTTP (/score, OIP v2) and gRPC (OIP v2)."""

    def __init__(self) -> None:
        self.config = ScoringConfig.from_env()
        self.metrics = ScoringMetrics()
        self.engine = ScoringEngine(self.config, self.metrics)
        self._grpc_server: Any = None

    @bentoml.on_startup  # type: ignore[untyped-decorator]
    async def start_model_and_grpc(self) -> None:
        from .oip.grpc_server import start_grpc_server

        self.engine.start()
        config = self.config
        self._grpc_server = await start_grpc_server(
            self.engine, config.grpc_host, config.grpc_port, config.grpc_max_message_bytes
        )

    @bentoml.on_shutdown  # type: ignore[untyped-decorator]
    async def stop_grpc_and_batcher(self) -> None:
        if self._grpc_server is not None:
            await self._grpc_server.stop(grace=2.0)
        await self.engine.stop()

    def __is_ready__(self) -> bool:
        return self.engine.ready

    @bentoml.api(route="/score")  # type: ignore[untyped-decorator]
    async def score(
        self,
        transactions: Annotated[
            list[dict[str, Any]], Field(description=TRANSACTIONS_DOC, examples=[EXAMPLE_INPUT["transactions"]])
        ],
    ) -> dict[str, Any]:
        """Score transactions: fraud probability, decision at the model's threshold, model name/version and
        the top-3 reason codes (feature, value, TreeSHAP contribution in log-odds; positive = towards fraud).

        Every ``POST /score`` over HTTP (BentoML clients too) is answered by :class:`scoring.hot_routes.HotRoutes`
        before it gets here, with its metrics and its error mapping (one table for HTTP and gRPC). This method
        documents the route (OpenAPI, example) for BentoML; its body is the same engine call, nothing more."""
        return dict(build_response(await self.engine.score_records(transactions)))


FraudScoring.add_asgi_middleware(OpenAPIDocs)  # type: ignore[attr-defined]  # /docs.json: scoring/openapi.py


class _HotRoutesInFront(type(FraudScoring)):  # type: ignore[misc]  # bentoml's Service class
    """The ASGI app uvicorn serves is ``RequestLimits(HotRoutes(<BentoML's app>))``.

    Why in front and not through ``add_asgi_middleware``: BentoML puts user middlewares inside its own
    per-request layers (Starlette's error middleware, its request metrics in multiprocess mmap files, the
    OpenTelemetry check, the traffic timeout), which cost a hot request ~15 % of its CPU (measured,
    docs/scoring.md). The hot routes keep their own metrics, error mapping and time limits (body
    timeout, the batcher's queue wait); every other route still passes the limits, then BentoML's stack.
    The slots are BentoML's, so the instance can take this class in place of its own."""

    __slots__ = ()

    def to_asgi(self, is_main: bool = True) -> Any:
        return RequestLimits(HotRoutes(super().to_asgi(is_main)))


FraudScoring.__class__ = _HotRoutesInFront  # type: ignore[method-assign]
