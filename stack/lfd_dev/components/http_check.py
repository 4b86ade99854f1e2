"""A tiny HTTP probe used by health checks (standard library only)."""

from __future__ import annotations

import urllib.error
import urllib.request


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return bool(200 <= resp.status < 300)
    except (urllib.error.URLError, OSError, ValueError):
        return False
