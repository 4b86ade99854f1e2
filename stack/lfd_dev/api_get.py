"""GETs to the local API server over one kept-alive HTTPS connection, for the node's helper processes.

``cluster_dns`` and ``pod_targets`` list Services and Pods every 2 s. Each list used to spawn ``kubectl``: a Go
start-up, reading the kubeconfig, discovery and a TLS handshake every time. Measured (2 Dec): the two kubectl
lists cost 112 ms of CPU per 2 s period (5.6% of a core on average, in bursts: up to 44% in ``top`` beside the
streaming benchmark); both helpers over kept-alive connections took 9 CPU ticks in 60 s (0.15%).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import ssl
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml


class ApiError(Exception):
    """The API server did not answer, or answered something other than 200 with JSON."""


def _context(ca_pem: bytes, cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=ca_pem.decode())
    # ssl loads a client certificate from files only: a private directory, removed once they are loaded.
    with tempfile.TemporaryDirectory(prefix="lfd-api-") as tmp:
        cert, key = Path(tmp) / "client.crt", Path(tmp) / "client.key"
        for path, data in ((cert, cert_pem), (key, key_pem)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
        context.load_cert_chain(str(cert), str(key))
    return context


class ApiClient:
    """The current context's cluster and user of a kubeconfig with embedded certificates (``certs.kubeconfig``)."""

    def __init__(self, kubeconfig: Path, timeout: float = 10.0) -> None:
        config = yaml.safe_load(kubeconfig.read_text())
        current = next(c["context"] for c in config["contexts"] if c["name"] == config["current-context"])
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == current["cluster"])
        user = next(u["user"] for u in config["users"] if u["name"] == current["user"])
        server = urlsplit(cluster["server"])
        if server.scheme != "https" or not server.hostname:
            raise ValueError(f"kubeconfig {kubeconfig}: server must be an https:// URL, got {cluster['server']!r}")
        self._host, self._port = server.hostname, server.port or 443
        self._context = _context(
            *(base64.b64decode(data) for data in (
                cluster["certificate-authority-data"], user["client-certificate-data"], user["client-key-data"],
            ))
        )  # fmt: skip
        self._timeout = timeout
        self._connection: http.client.HTTPSConnection | None = None

    def get_json(self, path: str) -> Any:
        """GET ``path``; a dropped kept-alive connection is reopened once before giving up."""
        for attempt in (1, 2):
            if self._connection is None:
                self._connection = http.client.HTTPSConnection(
                    self._host, self._port, context=self._context, timeout=self._timeout
                )
            try:
                self._connection.request("GET", path, headers={"Accept": "application/json"})
                response = self._connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as error:
                self.close()
                if attempt == 2:
                    raise ApiError(f"GET {path}: {error!r}") from error
                continue
            if response.status != 200:
                raise ApiError(f"GET {path}: HTTP {response.status}: {body[:300]!r}")
            try:
                return json.loads(body)
            except ValueError as error:
                raise ApiError(f"GET {path}: not JSON: {error}") from error
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
