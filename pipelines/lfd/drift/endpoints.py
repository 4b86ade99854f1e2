"""Where Kafka, MLflow and Prometheus are, for the drift commands: flag, environment, then a fallback."""

from __future__ import annotations

import os

#: The local stack's endpoints, handed over by the ``lfd`` entry point (lfd_dev); empty in an image.
FALLBACK: dict[str, str] = {}


def endpoint(flag: str | None, env: str, key: str) -> str:
    """Flag, then environment, then what the entry point passed; a clear error when none says."""
    value = flag or os.environ.get(env) or FALLBACK.get(key, "")
    if not value:
        raise SystemExit(f"say where: --{key.replace('_', '-')} or ${env}")
    return value
