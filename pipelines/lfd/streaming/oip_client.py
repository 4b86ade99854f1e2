"""The batched job's scoring client: one OIP v2 binary-tensor REST request per batch (blocking).

Why binary REST and not gRPC (measured, docs/streaming.md): both cost the job the same per batch
(one request, raw little-endian FP64 rows), but the streaming environment is pinned by PyFlink to
protobuf 5 and cannot load the service's protobuf-6 stubs; REST needs only httpx.

Wire format: ``lfd.oip``, the module that also builds the service's answers (a JSON header, then the
``[n, 30]`` FP64 matrix; request parameter ``reasons: "fraud"`` asks for exact reason codes of the rows decided
fraud; the JSON answer carries ``fraud_probability``, ``decision``, ``reasons`` and the colour that scored).

Failure policy, as in :mod:`lfd.streaming.client`: unavailability (transport errors, timeouts, 404 --
the model is being swapped --, 408, 429, 5xx, unreadable answers) is retried with backoff behind a
circuit breaker, forever unless ``max_attempts`` is set; blocking here blocks the Python worker,
which back-pressures the Kafka source, so nothing is dropped. 400/422 reject the input.

Following blue-green switches: the HTTP connection is dropped once older than ``max_age_s``, so the
next request resolves the Service again and reaches whatever colour it selects by then.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import numpy as np
import numpy.typing as npt
import orjson

from lfd import oip
from lfd.constants import MODEL_NAME
from lfd.streaming.batch import Scored
from lfd.streaming.client import ClientListener, NullListener, ScoringRejected, ScoringUnavailable
from lfd.streaming.resilience import Attempts, Backoff, CircuitBreaker


def decode_response(body: bytes, n: int, scoring_ms: float) -> Scored:
    """A JSON infer answer → :class:`Scored`; ``ScoringUnavailable`` when it does not fit the request."""
    try:
        answer = oip.parse_infer_response(orjson.loads(body), n)
    except (orjson.JSONDecodeError, oip.OipFormatError) as exc:
        raise ScoringUnavailable(f"unreadable infer answer: {exc}") from exc
    return Scored(
        answer.proba,
        answer.decision,
        answer.reasons,
        answer.model_name,
        answer.model_version,
        answer.colour,
        round(scoring_ms, 3),
    )


@dataclass
class OipBatchClient:
    base_url: str
    model_name: str = MODEL_NAME
    timeout_s: float = 2.0
    max_age_s: float = 10.0  # connection age bound: how soon a blue-green switch is followed
    fraud_reasons: bool = True
    backoff: Backoff = field(default_factory=Backoff)
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    max_attempts: int | None = None  # None = retry until the service answers
    listener: ClientListener = field(default_factory=NullListener)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _http: httpx.Client | None = None
    _born: float = 0.0
    # one TLS context for every re-opened connection: building one costs tens of ms (py-spy showed 4% of
    # the worker's time in it with a 10 s connection age)
    _tls: ssl.SSLContext = field(default_factory=ssl.create_default_context)

    def score(self, features: npt.NDArray[np.float64]) -> Scored:
        """Score a batch; retries unavailability, raises ``ScoringRejected`` for a refused input."""
        attempts = Attempts(self.backoff, self.breaker, self.max_attempts, self.listener, self.clock)
        while True:
            while (wait := attempts.delay()) > 0:
                self.sleep(wait)
            try:
                scored = self._post(features)
            except ScoringUnavailable as exc:
                self._drop_connection()  # the next attempt may reach another pod or colour
                if attempts.failed(str(exc)):
                    continue
                raise
            except ScoringRejected:
                attempts.succeeded()
                raise
            attempts.succeeded()
            return scored

    def _client(self) -> httpx.Client:
        now = self.clock()
        if self._http is not None and now - self._born > self.max_age_s:
            self._drop_connection()
        if self._http is None:
            limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
            self._http = httpx.Client(limits=limits, verify=self._tls)
            self._born = now
        return self._http

    def _drop_connection(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def _post(self, features: npt.NDArray[np.float64]) -> Scored:
        body, headers = oip.build_binary_request(features, fraud_reasons=self.fraud_reasons)
        began = time.perf_counter()
        try:
            response = self._client().post(
                oip.infer_url(self.base_url, self.model_name), content=body, headers=headers, timeout=self.timeout_s
            )
        except httpx.HTTPError as exc:
            raise ScoringUnavailable(f"{type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status in (404, 408, 429) or status >= 500:
            raise ScoringUnavailable(f"HTTP {status}: {response.text[:200]}")
        if status >= 400:
            raise ScoringRejected(status, response.text[:500])
        seconds = time.perf_counter() - began
        scored = decode_response(response.content, len(features), seconds * 1000)
        self.listener.on_request(len(features), seconds)
        return scored

    def close(self) -> None:
        self._drop_connection()
