"""Domain errors of the scoring service and the one place they become HTTP and gRPC status codes.

Handlers raise these (keeping the cause with ``raise ... from e``); the protocol edges call
:func:`http_status`, :func:`http_headers`, :func:`error_body` and :func:`grpc_code` and nothing else
decides a status code. (Pattern: kserve/kserve ``python/kserve/kserve/errors.py``.)

==================  =====  ===================  ==========================================
error               HTTP   gRPC                 when
==================  =====  ===================  ==========================================
InvalidInput        400    INVALID_ARGUMENT     a record breaks the contract, bad OIP tensor
UnprocessableInput  422    INVALID_ARGUMENT     body is not JSON / not the documented shape
TooLarge            413    RESOURCE_EXHAUSTED   body / tensor over a configured limit (414 URL, 431 headers)
RequestTimeout      408    DEADLINE_EXCEEDED    the body did not arrive within the configured time
ModelNotFound       404    NOT_FOUND            OIP call for a model name we do not serve
ModelNotReady       503    UNAVAILABLE          model still loading, or its load failed
Overloaded          503    UNAVAILABLE          the batching queue is full (Retry-After set)
==================  =====  ===================  ==========================================
"""

from __future__ import annotations

from typing import Any

import grpc

from lfd.contract import ContractViolation, field_error


class ScoringError(Exception):
    """Base of every error a client can cause or observe."""

    kind = "error"


class InvalidInput(ScoringError):
    """The request is well-formed but breaks a rule; ``field`` and ``rule`` say which."""

    kind = "invalid_input"

    def __init__(self, field: str, rule: str, index: int | None = None) -> None:
        self.field = field
        self.rule = rule
        self.index = index
        super().__init__(field_error(field, rule, index))

    @classmethod
    def from_violation(cls, violation: ContractViolation) -> InvalidInput:
        return cls(violation.field, violation.rule, violation.index)


class UnprocessableInput(InvalidInput):
    """The body cannot be read as the documented request shape (not JSON, wrong top-level type)."""

    kind = "unprocessable_input"


class TooLarge(InvalidInput):
    """A request over a configured resource limit (``scoring.config``): refused before the work it
    would cost. ``field`` names what is too large (``body``, a tensor, ``headers``, ``url``)."""

    kind = "too_large"


class UrlTooLong(TooLarge):
    pass


class HeadersTooLarge(TooLarge):
    pass


class RequestTimeout(InvalidInput):
    """The client did not send its whole body in time (a slow or stalled upload holds a connection)."""

    kind = "request_timeout"


class AnswerTimeout(ScoringError):
    """The request was received but not answered within ``LFD_SCORING_REQUEST_TIMEOUT_S``."""

    kind = "timeout"


class ModelNotFound(ScoringError):
    kind = "model_not_found"

    def __init__(self, name: str, served: str) -> None:
        super().__init__(f"model '{name}' is not served here; this server serves '{served}'")


class ModelNotReady(ScoringError):
    kind = "model_not_ready"


class Overloaded(ScoringError):
    """Back-pressure: the queue is full. Clients should retry after ``retry_after_s`` seconds."""

    kind = "overloaded"

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message)


_HTTP: dict[type[ScoringError], int] = {
    UnprocessableInput: 422,
    UrlTooLong: 414,
    HeadersTooLarge: 431,
    TooLarge: 413,
    RequestTimeout: 408,
    InvalidInput: 400,
    ModelNotFound: 404,
    ModelNotReady: 503,
    Overloaded: 503,
    AnswerTimeout: 504,
}
_GRPC: dict[type[ScoringError], grpc.StatusCode] = {
    TooLarge: grpc.StatusCode.RESOURCE_EXHAUSTED,
    RequestTimeout: grpc.StatusCode.DEADLINE_EXCEEDED,
    InvalidInput: grpc.StatusCode.INVALID_ARGUMENT,
    ModelNotFound: grpc.StatusCode.NOT_FOUND,
    ModelNotReady: grpc.StatusCode.UNAVAILABLE,
    Overloaded: grpc.StatusCode.UNAVAILABLE,
    AnswerTimeout: grpc.StatusCode.DEADLINE_EXCEEDED,
}


def _lookup(table: dict[type[ScoringError], Any], error: ScoringError, default: Any) -> Any:
    for cls in type(error).__mro__:  # most specific class first
        if cls in table:
            return table[cls]
    return default


def http_status(error: ScoringError) -> int:
    status: int = _lookup(_HTTP, error, 500)
    return status


def grpc_code(error: ScoringError) -> grpc.StatusCode:
    code: grpc.StatusCode = _lookup(_GRPC, error, grpc.StatusCode.INTERNAL)
    return code


def http_headers(error: ScoringError) -> dict[str, str]:
    if isinstance(error, Overloaded):
        return {"Retry-After": str(error.retry_after_s)}
    if isinstance(error, (TooLarge, RequestTimeout)):
        return {"Connection": "close"}  # the rest of an oversized or stalled body is never read
    return {}


def error_body(error: ScoringError) -> dict[str, Any]:
    """JSON error body; OIP clients read ``error``, ours may also read ``field``/``rule``."""
    body: dict[str, Any] = {"error": str(error), "kind": error.kind}
    if isinstance(error, InvalidInput):
        body["field"] = error.field
        body["rule"] = error.rule
        if error.index is not None:
            body["index"] = error.index
    if isinstance(error, Overloaded):
        body["retry_after_s"] = error.retry_after_s
    return body
