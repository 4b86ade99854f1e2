"""Service configuration, read once from ``LFD_SCORING_*`` environment variables.

Environment variables (not arguments) because BentoML instantiates the service class in a worker
process: ``lfd serve`` and the container image set these, the worker reads them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from lfd.constants import CHAMPION, MODEL_NAME
from lfd.contract import N_FEATURES

DEFAULT_MODEL_URI = f"models:/{MODEL_NAME}@{CHAMPION}"
DEFAULT_HTTP_PORT = 3000
DEFAULT_GRPC_PORT = 8001
DEFAULT_MAX_BATCH = 10_000
ENV_PREFIX = "LFD_SCORING_"


@dataclass(frozen=True)
class ScoringConfig:
    #: MLflow model URI (``models:/name@alias``, ``models:/name/3``, ``runs:/...``); ignored if model_dir set.
    model_uri: str = DEFAULT_MODEL_URI
    #: A local bundle or downloaded MLflow model directory (what an image bakes in).
    model_dir: str = ""
    #: Model name reported to clients when loading from a directory (from the URI otherwise).
    model_name: str = MODEL_NAME
    #: Version reported when loading from a directory (the registry's version otherwise).
    model_version: str = "local"
    tracking_uri: str = ""
    grpc_port: int = DEFAULT_GRPC_PORT
    grpc_host: str = "0.0.0.0"
    #: Largest batch a client may send in one request (records or tensor rows).
    max_batch: int = DEFAULT_MAX_BATCH
    # --- resource limits (docs/security.md): each refused before the work it would cost ---------
    #: Largest HTTP request body; larger (by Content-Length, or while reading) -> 413. A 10,000-record
    #: /score body is ~6.5 MB of JSON.
    max_body_bytes: int = 16 * 1024 * 1024
    #: Seconds a client may take to send its whole body; slower -> 408 (a stalled upload holds a slot).
    body_timeout_s: float = 10.0
    #: Largest request target (path + query) in bytes -> 414.
    max_url_bytes: int = 2_048
    #: Largest total size of the request headers in bytes -> 431 (the HTTP parser itself has no limit).
    max_header_bytes: int = 16 * 1024
    #: Most elements one OIP tensor may declare (shape product), over REST and gRPC -> 413 /
    #: RESOURCE_EXHAUSTED; 0 = max_batch x 30 features.
    max_tensor_elements: int = 0
    #: Largest gRPC message (grpc.aio rejects larger ones with RESOURCE_EXHAUSTED).
    grpc_max_message_bytes: int = 16 * 1024 * 1024
    #: Seconds one HTTP request may run before it is answered 504 (hot routes: ours; others: BentoML's).
    request_timeout_s: float = 10.0
    #: Most rows the batcher hands the model at once (bounded so one huge batch cannot starve others).
    batch_max_rows: int = 4_096
    #: Optional wait for more work before a batch runs; 0 = adaptive only (batch whatever queued
    #: while the model was busy), which is latency-optimal on a CPU model.
    batch_wait_ms: float = 0.0
    #: A request of at least this many rows (no reasons asked) that finds the model idle is predicted
    #: on the event loop, skipping the hop to the model thread; 0 = always through the model thread.
    batch_inline_min_rows: int = 32
    #: Rows allowed to wait in the queue; beyond this requests are shed with 503/UNAVAILABLE.
    max_queue_rows: int = 50_000
    #: A request that waited longer than this in the queue is shed (503) instead of computed late; 0 = never.
    max_queue_wait_ms: float = 2_000.0
    #: Retry-After (seconds) sent with a shed request.
    retry_after_s: int = 1
    #: Number of reason codes per scored transaction.
    top_reasons: int = 3
    #: The blue-green colour of this deployment (the operator sets it); reported in OIP responses'
    #: ``parameters`` so a client (the streaming job) can tell which colour scored each batch.
    colour: str = ""
    #: gRPC connections are closed (gracefully, GOAWAY) after this age so clients re-resolve the
    #: Service and follow a blue-green switch (kube-proxy pins an open connection to its pod).
    grpc_max_connection_age_s: float = 30.0
    #: Decision threshold on the fraud probability; negative = the model's own (from its bundle). The
    #: operator sets it from a FraudModel's ``spec.threshold``.
    threshold: float = -1.0
    #: Longest wait between two attempts to load the model (attempts back off 1, 2, 4, ... seconds).
    load_retry_max_s: float = 30.0

    @property
    def tensor_element_limit(self) -> int:
        return self.max_tensor_elements or self.max_batch * N_FEATURES

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ScoringConfig:
        env = os.environ if env is None else env
        defaults = cls()
        values: dict[str, object] = {}
        for name, default in vars(defaults).items():
            raw = env.get(ENV_PREFIX + name.upper())
            if raw is None or raw == "":
                continue
            try:
                values[name] = type(default)(raw)
            except ValueError as e:
                raise ValueError(f"{ENV_PREFIX}{name.upper()}={raw!r}: expected {type(default).__name__}") from e
        threshold = values.get("threshold", -1.0)
        if isinstance(threshold, float) and threshold > 1.0:
            raise ValueError(f"{ENV_PREFIX}THRESHOLD={threshold}: must be within [0, 1] (negative: the model's own)")
        if not values.get("tracking_uri") and env.get("MLFLOW_TRACKING_URI"):
            values["tracking_uri"] = env["MLFLOW_TRACKING_URI"]
        return cls(**values)  # type: ignore[arg-type]

    def to_env(self) -> dict[str, str]:
        """The inverse of :meth:`from_env`, for launching a worker with this configuration."""
        return {ENV_PREFIX + name.upper(): str(value) for name, value in vars(self).items()}
