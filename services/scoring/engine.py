"""The scoring engine: one per worker process, shared by the HTTP API, OIP REST and the gRPC server.

It owns the model's lifecycle (loading → ready, or failed with a reason), the micro-batcher and the
metrics. Protocol handlers call :meth:`ScoringEngine.score_records` or :meth:`ScoringEngine.infer`
and map :mod:`scoring.errors` to status codes; they never touch the model directly.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from lfd.contract import ContractViolation, parse_batch
from lfd.model_bundle import FloatArray
from lfd.response import ModelRef, ScoreResult, build_result

from .batcher import MicroBatcher
from .config import ScoringConfig
from .errors import InvalidInput, ModelNotFound, ModelNotReady, ScoringError, grpc_code, http_status
from .explain import Reason, top_reasons
from .metrics import ScoringMetrics
from .model import LoadedModel, load_model

log = logging.getLogger(__name__)

#: How often tallied request metrics are written to Prometheus when nobody scrapes (scoring.metrics).
METRICS_FLUSH_S = 1.0


def freeze_startup_heap() -> None:
    """Move everything alive after start-up (BentoML, MLflow, pandas, the model: ~10^6 objects) out of
    the garbage collector's sight. Otherwise every full collection walks them all, a pause of tens of
    milliseconds that lands in the p99 of whatever requests are in flight (py-spy showed it under load)."""
    gc.collect()
    gc.freeze()


@dataclass(frozen=True)
class Inference:
    """Result of an OIP inference: probabilities, decisions (1 = fraud) and the model that made them."""

    proba: FloatArray
    decision: npt.NDArray[np.int32]
    model: LoadedModel
    #: Per row when asked for: top reasons of the rows decided fraud, ``[]`` for the others.
    reasons: list[list[Reason]] | None = None


def load_retry_delay(attempt: int, cap_s: float) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based): 1, 2, 4, ... capped at ``cap_s``."""
    return float(min(cap_s, 2.0 ** min(attempt - 1, 16)))


class ScoringEngine:
    def __init__(self, config: ScoringConfig, metrics: ScoringMetrics) -> None:
        self.config = config
        self.metrics = metrics
        self.model: LoadedModel | None = None
        self.load_error = ""
        self._batcher: MicroBatcher | None = None
        self._load_task: asyncio.Task[None] | None = None
        self._flush_task: asyncio.Task[None] | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self.model is not None and self._batcher is not None

    @property
    def status(self) -> str:
        if self.ready:
            return "ready"
        return f"failed: {self.load_error}" if self.load_error else "loading"

    def start(self) -> None:
        """Begin loading in the background: the server is live at once, ready when the model is."""
        loop = asyncio.get_running_loop()
        self._load_task = loop.create_task(self._load(), name="lfd-model-load")
        self._flush_task = loop.create_task(self._flush_metrics(), name="lfd-metrics-flush")

    async def _flush_metrics(self) -> None:
        """Write the tallied metrics out once a second (a ``/metrics`` scrape flushes first anyway)."""
        while True:
            await asyncio.sleep(METRICS_FLUSH_S)
            self.metrics.flush()

    async def _load(self) -> None:
        """Load until it succeeds, backing off between attempts: a registry that is not up yet (a pod
        started before MLflow, a restart of the registry) must not leave a live-but-never-ready process
        that Kubernetes would never restart. Readiness reports the last error meanwhile."""
        attempt = 0
        while True:
            attempt += 1
            try:
                model = await asyncio.to_thread(load_model, self.config)
                break
            except Exception as e:  # keep serving liveness; readiness explains why it is not ready
                delay = load_retry_delay(attempt, self.config.load_retry_max_s)
                self.load_error = f"{type(e).__name__}: {e} (attempt {attempt}; next in {delay:.0f}s)"
                log.error("model load failed: %s", self.load_error, exc_info=attempt == 1)
                await asyncio.sleep(delay)
        self.load_error = ""
        batcher = MicroBatcher(
            model.predict,
            model.contributions,
            max_rows=self.config.batch_max_rows,
            max_queue_rows=self.config.max_queue_rows,
            wait_s=self.config.batch_wait_ms / 1000,
            max_queue_wait_s=self.config.max_queue_wait_ms / 1000,
            inline_min_rows=self.config.batch_inline_min_rows,
            retry_after_s=self.config.retry_after_s,
            on_batch=self.metrics.model_call,
        )
        batcher.start()
        self.metrics.model_loaded(model.name, model.version, model.threshold, model.flavor)
        freeze_startup_heap()  # before ready: its one full collection pauses no request
        self.model, self._batcher = model, batcher

    async def stop(self) -> None:
        for task in (self._load_task, self._flush_task):
            if task is not None and not task.done():
                task.cancel()
        if self._batcher is not None:
            await self._batcher.stop()
        self.metrics.flush()

    def _require(self) -> tuple[LoadedModel, MicroBatcher]:
        if self.model is None or self._batcher is None:
            raise ModelNotReady(
                f"model not ready ({self.status}); source {self.config.model_dir or self.config.model_uri}"
            )
        return self.model, self._batcher

    def check_model_name(self, name: str, version: str = "") -> LoadedModel:
        """The loaded model if it is the one asked for (OIP addresses models by name and version)."""
        model, _ = self._require()
        if name != model.name:
            raise ModelNotFound(name, model.name)
        if version and version != model.version:
            raise ModelNotFound(f"{name}/{version}", f"{model.name}/{model.version}")
        return model

    # --- scoring -------------------------------------------------------------------------------

    async def score_records(self, records: Any) -> list[ScoreResult]:
        """``POST /score``: contract records with ids → scores, decisions and reason codes."""
        model, batcher = self._require()
        if not isinstance(records, Sequence) or isinstance(records, (str, bytes)):
            raise InvalidInput("transactions", "must be a list of transaction objects")
        try:
            transactions = parse_batch(records, max_batch=self.config.max_batch)
        except ContractViolation as e:
            raise InvalidInput.from_violation(e) from e
        values = np.array([tx.features for tx in transactions], dtype=np.float64)
        prediction = await batcher.submit(values.astype(np.float32), explain=True)
        assert prediction.contributions is not None
        # reasons quote the value as sent (float64), the model saw its float32 rounding
        reasons = top_reasons(values, prediction.contributions, self.config.top_reasons)
        self.metrics.scores(prediction.proba, int(np.count_nonzero(prediction.proba >= model.threshold)))
        model_ref = ModelRef(name=model.name, version=model.version)
        return [
            build_result(tx.id, p, model.threshold, model_ref, tx_reasons)
            for tx, p, tx_reasons in zip(transactions, prediction.proba.tolist(), reasons, strict=True)
        ]

    async def infer(
        self, model_name: str, model_version: str, matrix: FloatArray, *, explain_fraud: bool = False
    ) -> Inference:
        """OIP ``infer`` (REST and gRPC): a validated float32 matrix → probabilities and decisions.

        With ``explain_fraud`` the rows decided fraud (and only those: TreeSHAP costs ~60x a
        prediction) get exact reason codes, computed by the same model in a second, small batch."""
        model = self.check_model_name(model_name, model_version)
        _, batcher = self._require()
        prediction = await batcher.submit(matrix)
        decision = (prediction.proba >= model.threshold).astype(np.int32)
        self.metrics.scores(prediction.proba, int(np.count_nonzero(decision)))
        reasons: list[list[Reason]] | None = None
        if explain_fraud:
            reasons = [[] for _ in range(len(decision))]
            fraud_rows = np.flatnonzero(decision)
            if fraud_rows.size:
                explained = await batcher.submit(np.ascontiguousarray(matrix[fraud_rows]), explain=True)
                assert explained.contributions is not None
                rows = matrix[fraud_rows].astype(np.float64)
                for row, row_reasons in zip(
                    fraud_rows.tolist(),
                    top_reasons(rows, explained.contributions, self.config.top_reasons),
                    strict=True,
                ):
                    reasons[row] = row_reasons
        return Inference(prediction.proba, decision, model, reasons)

    @contextmanager
    def observe(self, endpoint: str, protocol: str) -> Iterator[dict[str, str]]:
        """Time a request and count it by status; the handler sets ``outcome['status']`` on success."""
        start = time.perf_counter()
        outcome = {"status": "200" if protocol == "http" else "OK"}
        try:
            yield outcome
        except ScoringError as e:
            outcome["status"] = str(http_status(e)) if protocol == "http" else grpc_code(e).name
            raise
        except Exception:
            outcome["status"] = "500" if protocol == "http" else "INTERNAL"
            raise
        finally:
            self.metrics.request(endpoint, protocol, outcome["status"], time.perf_counter() - start)
