"""MLflow tracking server: sqlite backend store, artifacts proxied through the server."""

from __future__ import annotations

from pathlib import Path

from lfd_dev.components.base import require
from lfd_dev.components.http_check import http_component
from lfd_dev.settings import Settings


def _root(settings: Settings) -> Path:
    return settings.state / "mlflow"


def _prepare(settings: Settings) -> None:
    (_root(settings) / "artifacts").mkdir(parents=True, exist_ok=True)


def _argv(settings: Settings) -> list[str | Path]:
    root = _root(settings)
    return [
        require(settings.repo / ".venv" / "bin" / "mlflow", "the main Python environment"),
        "server",
        # MLflow 3 refuses the file store for the model registry; sqlite is the smallest real backend.
        "--backend-store-uri",
        f"sqlite:///{root / 'mlflow.db'}",
        # Clients upload through the server (mlflow-artifacts:/), so they need no shared disk.
        "--artifacts-destination",
        str(root / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(settings.ports.mlflow),
        "--workers",
        "1",
    ]


MLFLOW = http_component(
    "mlflow",
    lambda s: s.mlflow_uri,
    "/health",
    "tracking server at",
    prepare=_prepare,
    argv=_argv,
    # Importing MLflow's server takes ~20 s on an idle 2-core machine and minutes under load.
    start_timeout=420,
)
