"""One instant query against Prometheus, as the gates that read metrics (SLO, shadow) ask it."""

from __future__ import annotations

import httpx

from fraud_operator.analysis import Unreachable


def instant(client: httpx.Client, prometheus_url: str, query: str, gate: str) -> float | None:
    """The first sample's value, or None when the query selects no series (nothing observed yet).

    Raises ``Unreachable`` (the gate is retried, not failed) when Prometheus cannot be asked; ``gate`` names
    the analysis in that message."""
    try:
        response = client.get(f"{prometheus_url}/api/v1/query", params={"query": query})
    except httpx.TransportError as e:
        raise Unreachable(f"{gate}: Prometheus {prometheus_url} unreachable: {e}") from e
    if response.status_code != 200:
        raise Unreachable(f"{gate}: Prometheus answered HTTP {response.status_code}: {response.text[:200]}")
    result = response.json()["data"]["result"]
    return float(result[0]["value"][1]) if result else None
