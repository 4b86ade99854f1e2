"""The Grafana dashboard's panels, rendered without Grafana: Prometheus range queries → matplotlib.

``panels`` reads ``stack/grafana/live-fraud-detector.json`` (the same file the chart ships as a
ConfigMap), ``metric_names`` finds the metrics an expression names (pure), ``render`` draws every
panel into one PNG and an HTML page next to it.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

#: The dashboard in a source checkout (a symlink to the chart's files/grafana/ copy). Installed wheels do not
#: carry it: `lfd dashboard --dashboard` (or $LFD_DASHBOARD) points at the chart's file or its ConfigMap mount.
DASHBOARD = Path(__file__).resolve().parents[3] / "stack" / "grafana" / "live-fraud-detector.json"

_FUNCTIONS = {
    "sum", "min", "max", "avg", "count", "topk", "bottomk", "rate", "irate", "increase", "changes", "by",
    "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset", "bool",
    "histogram_quantile", "clamp_min", "clamp_max", "abs", "time", "vector", "scalar", "delta", "deriv",
    "avg_over_time", "max_over_time", "min_over_time", "quantile", "le",
}  # fmt: skip


@dataclass(frozen=True)
class Panel:
    title: str
    exprs: tuple[str, ...]
    unit: str


def panels(path: Path = DASHBOARD) -> list[Panel]:
    document = json.loads(path.read_text())
    return [
        Panel(
            p["title"],
            tuple(t["expr"] for t in p["targets"]),
            p.get("fieldConfig", {}).get("defaults", {}).get("unit", ""),
        )
        for p in document["panels"]
    ]


def metric_names(expr: str) -> set[str]:
    """Metric (and recording-rule) names in a PromQL expression: identifiers outside ``{...}``, ``(by ...)``
    groupings and ``[range]``, that are not functions or keywords (pure; good enough for our panels)."""
    text = re.sub(r"\{[^}]*\}", " ", expr)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", text)
    names = set(re.findall(r"(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*", text))  # not the m of 15m or the e of 1e-9
    return {n for n in names if n not in _FUNCTIONS and not re.fullmatch(r"\d.*|e\d*", n)}


def query_range(prometheus: str, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
    params = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(f"{prometheus}/api/v1/query_range?{params}", timeout=30) as response:
        body = json.load(response)
    if body.get("status") != "success":
        raise ValueError(f"Prometheus rejected {expr!r}: {body.get('error')}")
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def render(
    prometheus: str, out: Path, minutes: float = 30.0, step: float = 5.0, dashboard: Path = DASHBOARD
) -> tuple[Path, Path]:
    """Every panel as a small chart in one PNG, plus an HTML page with the PNG and a per-panel table."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    end = time.time()
    start = end - minutes * 60
    shown = panels(dashboard)
    columns = 2
    rows = (len(shown) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(14, 3 * rows), squeeze=False)
    lines: list[str] = []
    for axis, panel in zip(axes.flat, shown, strict=False):
        series_count = 0
        for expr in panel.exprs:
            for series in query_range(prometheus, expr, start, end, step):
                t = [(float(ts) - end) / 60 for ts, _ in series["values"]]
                v = [float(value) for _, value in series["values"]]
                label = ",".join(f"{k}={val}" for k, val in series["metric"].items() if k not in ("job", "instance"))
                axis.plot(t, v, label=label[:40] or expr[:40])
                series_count += 1
        axis.set_title(panel.title, fontsize=9)
        axis.set_xlabel("minutes ago", fontsize=7)
        axis.tick_params(labelsize=7)
        if series_count:
            axis.legend(fontsize=6, loc="upper left")
        else:
            axis.text(0.5, 0.5, "no data", ha="center", va="center", transform=axis.transAxes, color="grey")
        lines.append(
            f"<tr><td>{escape(panel.title)}</td><td><code>{'<br>'.join(map(escape, panel.exprs))}</code></td>"
            f"<td>{series_count}</td></tr>"
        )
    for axis in list(axes.flat)[len(shown) :]:
        axis.axis("off")
    figure.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    png, html = out / "dashboard.png", out / "dashboard.html"
    figure.savefig(png, dpi=80)
    plt.close(figure)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(end))
    html.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>live-fraud-detector dashboard</title></head><body>"
        f"<h1>live-fraud-detector</h1><p>{prometheus}, last {minutes:g} minutes, at {stamp}</p>"
        f"<img src='{png.name}' style='max-width:100%'><table border='1'><tr><th>panel</th><th>PromQL</th>"
        f"<th>series</th></tr>{''.join(lines)}</table></body></html>"
    )
    return png, html
