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

from .config import ScoringConfig
from .engine import ScoringEngine
from .errors import ScoringError, error_body, http_headers, http_status
from .metrics import ScoringMetrics
from .oip.http_app import build_app

log = logging.getLogger(__name__)

#: One real transaction from the dev data, in the wire contract. Shown in the OpenAPI docs and
#: reused by the tests, so the documented example is always a valid request.
EXAMPLE_TRANSACTION: dict[str, Any] = {
    "id": "tx-example-0001",
    "Time": 0.0,
    "V1": 1.191857,
    "V2": 0.266151,
    "V3": 0.16648,
    "V4": 0.448154,
    "V5": 0.060018,
    "V6": -0.082361,
    "V7": -0.078803,
    "V8": 0.085102,
    "V9": -0.255425,
    "V10": -0.166974,
    "V11": 1.612727,
    "V12": 1.065235,
    "V13": 0.489095,
    "V14": -0.143772,
    "V15": 0.635558,
    "V16": 0.463917,
    "V17": -0.114805,
    "V18": -0.183361,
    "V19": -0.145783,
    "V20": -0.069083,
    "V21": -0.225775,
    "V22": -0.638672,
    "V23": 0.101288,
    "V24": -0.339846,
    "V25": 0.16717,
    "V26": 0.125895,
    "V27": -0.008983,
    "V28": 0.014724,
    "Amount": 2.69,
}
EXAMPLE_INPUT: dict[str, Any] = {"transactions": [EXAMPLE_TRANSACTION]}

TRANSACTIONS_DOC = (
    "Transactions in the wire contract (lfd.contract): an 'id' plus Time, V1..V28, Amount as numbers. "
    "Unknown fields are rejected; at most LFD_SCORING_MAX_BATCH (default 10,000) per request."
)

oip_app = build_app()


#: Per-request access logs cost ~10% of a single-transaction request; off unless asked for.
ACCESS_LOG = os.environ.get("LFD_SCORING_ACCESS_LOG", "false").lower() in ("1", "true", "yes")


# One worker: the model thread and the event loop already use both cores of a small pod; scale
# with replicas. No BentoML max_concurrency: overload is shed by our batcher with a Retry-After.
@bentoml.service(name="lfd-scoring", workers=1, traffic={"timeout": 60}, logging={"access": {"enabled": ACCESS_LOG}})
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
        self._grpc_server = await start_grpc_server(self.engine, self.config.grpc_host, self.config.grpc_port)

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
        ctx: bentoml.Context,
    ) -> dict[str, Any]:
        """Score transactions: fraud probability, decision at the model's threshold, model name/version and
        the top-3 reason codes (feature, value, TreeSHAP contribution in log-odds; positive = towards fraud)."""
        try:
            with self.engine.observe("score", "http"):
                return {"results": await self.engine.score_records(transactions)}
        except ScoringError as e:
            ctx.response.status_code = http_status(e)
            ctx.response.headers.update(http_headers(e))
            return error_body(e)
