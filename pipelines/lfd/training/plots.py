"""Plots logged next to the metrics: where people would rather look than read.

Each function draws one figure from scores and labels and writes it to ``path`` (PNG). Figures are
built with ``matplotlib.figure.Figure`` directly (no pyplot): no global backend switch, headless-safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve, roc_curve

from lfd.contract import LEGIT_WEIGHT
from lfd.training.evaluate import at_threshold, class_weights

Scores = Mapping[str, npt.NDArray[Any]]  # label (e.g. family) -> scores


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def pr_curve(y: npt.NDArray[Any], scores: Scores, path: Path) -> Path:
    fig = Figure(figsize=(6, 4.5))
    ax = fig.subplots()
    for label, s in scores.items():
        precision, recall, _ = precision_recall_curve(y, s, sample_weight=class_weights(y, LEGIT_WEIGHT))
        ax.step(recall, precision, where="post", label=label)
    ax.set(
        xlabel="recall",
        ylabel=f"precision (legitimate rows x {LEGIT_WEIGHT:.3f})",
        title="Precision-recall at the real stream's fraud rate",
        xlim=(0, 1.01),
        ylim=(0, 1.02),
    )
    ax.legend(loc="lower left")
    return _save(fig, path)


def roc(y: npt.NDArray[Any], scores: Scores, path: Path) -> Path:
    fig = Figure(figsize=(6, 4.5))
    ax = fig.subplots()
    for label, s in scores.items():
        fpr, tpr, _ = roc_curve(y, s)
        ax.plot(fpr, tpr, label=label)
    ax.axvline(0.001, color="grey", linestyle=":", label="FPR 0.1%")
    ax.set(
        xscale="log",
        xlim=(1e-4, 1),
        ylim=(0, 1.02),
        xlabel="false-positive rate (log)",
        ylabel="recall",
        title="ROC (log FPR: the region that matters)",
    )
    ax.legend(loc="lower right")
    return _save(fig, path)


def confusion(y: npt.NDArray[Any], s: npt.NDArray[Any], threshold: float, path: Path) -> Path:
    point = at_threshold(y, s, threshold)
    grid = np.array([[point.true_negatives, point.false_positives], [point.false_negatives, point.true_positives]])
    fig = Figure(figsize=(4.5, 4))
    ax = fig.subplots()
    ax.imshow(np.log1p(grid), cmap="Blues")
    for (i, j), n in np.ndenumerate(grid):
        ax.text(j, i, f"{n}", ha="center", va="center", fontsize=14)
    ax.set(
        xticks=[0, 1],
        xticklabels=["legit", "fraud"],
        yticks=[0, 1],
        yticklabels=["legit", "fraud"],
        xlabel="predicted",
        ylabel="actual",
        title=f"Confusion at threshold {threshold:.4f} (unweighted counts)",
    )
    return _save(fig, path)


def feature_importance(importance: dict[str, float], path: Path, top: int = 15) -> Path:
    items = sorted(importance.items(), key=lambda kv: kv[1], reverse=True)[:top][::-1]
    total = sum(importance.values()) or 1.0
    fig = Figure(figsize=(6, 5))
    ax = fig.subplots()
    ax.barh([k for k, _ in items], [v / total for _, v in items])
    ax.set(xlabel="share of total gain", title=f"Feature importance (top {top})")
    return _save(fig, path)


def score_distribution(y: npt.NDArray[Any], s: npt.NDArray[Any], threshold: float, path: Path) -> Path:
    fig = Figure(figsize=(6, 4.5))
    ax = fig.subplots()
    bins = [i / 50 for i in range(51)]
    for label, name in ((0, "legitimate"), (1, "fraud")):
        ax.hist(np.asarray(s)[np.asarray(y) == label], bins=bins, alpha=0.6, density=True, label=name)
    ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.3f}")
    ax.set(yscale="log", xlabel="fraud probability", ylabel="density (log)", title="Score distribution by class")
    ax.legend()
    return _save(fig, path)


def cost_curve(
    y: npt.NDArray[Any], s: npt.NDArray[Any], costs_by_threshold: tuple[Any, Any], threshold: float, path: Path
) -> Path:
    """Expected cost against threshold (``costs_by_threshold`` = (thresholds, costs))."""
    thresholds, costs = costs_by_threshold
    fig = Figure(figsize=(6, 4.5))
    ax = fig.subplots()
    ax.plot(thresholds, costs)
    ax.axvline(threshold, color="black", linestyle="--", label=f"chosen {threshold:.3f}")
    ax.set(xlabel="threshold", ylabel="expected cost (€)", title="Threshold trade-off", yscale="log")
    ax.legend()
    return _save(fig, path)
