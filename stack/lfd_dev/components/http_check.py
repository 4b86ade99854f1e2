"""A tiny HTTP probe used by health checks (standard library only), and the component served over it."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from lfd_dev.components.base import ProcessComponent
from lfd_dev.settings import Settings


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return bool(200 <= resp.status < 300)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def http_component(
    name: str, url: Callable[[Settings], str], health_path: str, what: str, **process: Any
) -> ProcessComponent:
    """A one-process component that is ready when ``url + health_path`` answers 2xx, described as
    ``"<what> <url>"``; ``process`` are the rest of ``ProcessComponent``'s fields (argv, prepare, ...)."""
    return ProcessComponent(
        name=name,
        ready=lambda s: http_ok(url(s) + health_path),
        describe=lambda s: f"{what} {url(s)}",
        **process,
    )
