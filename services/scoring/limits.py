"""HTTP resource limits, applied before a request costs work (docs/security.md lists them all).

uvicorn's parser (httptools) accepts request headers of any size (measured: a 1 MB header and 20,000
header lines were answered 200) and reads bodies as fast as the client sends them, however slowly.
:class:`RequestLimits` refuses, for every route, a request target over ``max_url_bytes`` (414),
headers over ``max_header_bytes`` (431) and a declared ``Content-Length`` over ``max_body_bytes``
(413); :func:`read_body` enforces the body limit again while reading (chunked uploads declare no
length) and a deadline for the whole body (408). Errors are mapped by ``scoring.errors``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from .config import ScoringConfig
from .errors import (
    HeadersTooLarge,
    RequestTimeout,
    ScoringError,
    TooLarge,
    UrlTooLong,
    error_body,
    http_headers,
    http_status,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ClientDisconnected(Exception):
    """The client went away before sending its whole body: nothing to answer."""


def check_head(scope: Scope, config: ScoringConfig) -> None:
    """The request line and headers against the limits (pure: raises a ``TooLarge``)."""
    target = len(scope.get("raw_path") or scope["path"].encode()) + len(scope.get("query_string") or b"")
    if target > config.max_url_bytes:
        raise UrlTooLong("url", f"request target of {target} bytes exceeds the limit of {config.max_url_bytes}")
    headers = scope.get("headers") or ()
    size = sum(len(k) + len(v) + 4 for k, v in headers)  # "k: v\r\n"
    if size > config.max_header_bytes:
        raise HeadersTooLarge("headers", f"{size} bytes of headers exceed the limit of {config.max_header_bytes}")
    for key, value in headers:
        if key == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return  # uvicorn refuses a malformed Content-Length itself
            if length > config.max_body_bytes:
                raise TooLarge("body", f"Content-Length {length} exceeds the limit of {config.max_body_bytes} bytes")


async def read_body(receive: Receive, max_bytes: int, timeout_s: float) -> bytes:
    """The whole body, refusing more than ``max_bytes`` (413) or a body slower than ``timeout_s`` (408)."""
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ClientDisconnected
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge("body", f"more than {max_bytes} bytes (the body limit)")
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    except TimeoutError as e:
        raise RequestTimeout("body", f"not received within {timeout_s:g} s ({size} bytes arrived)") from e


async def send_error(send: Send, error: ScoringError) -> None:
    body = orjson.dumps(error_body(error))
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in http_headers(error).items()]
    await send({"type": "http.response.start", "status": http_status(error), "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestLimits:
    """ASGI middleware: every HTTP request's target and headers are checked before any route runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.config = ScoringConfig.from_env()  # the worker's configuration (set by lfd serve / the image)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            try:
                check_head(scope, self.config)
            except ScoringError as e:
                return await send_error(send, e)
        await self.app(scope, receive, send)
