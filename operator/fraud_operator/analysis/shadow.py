"""Shadow analysis before the switch (optional): champion vs challenger on the same live transactions.

During a rollout the streaming job also scores every transaction with the preview colour (``scores-shadow``);
the drift monitor (``lfd monitor``) joins both scores by id and exports, per (champion, challenger) version
pair, how many transactions both scored, the share of equal decisions and the alert-rate ratio
(``lfd.constants.SHADOW_METRICS``). This gate reads those gauges from Prometheus and judges them against
``spec.rollout.prePromotionAnalysis.shadow``. The versions are the ones each colour reports in its answers
(``model.version``), which the job copies into every score record, so they are what the gauges are labelled with.
Too few shadow pairs yet is not a verdict: the analysis waits (``Unreachable``) while live traffic accrues.
"""

from __future__ import annotations

import math

import httpx

from fraud_operator.analysis import CannotRun, Unreachable, Verdict
from fraud_operator.analysis.prometheus import instant
from fraud_operator.analysis.smoke import CANNED_TRANSACTIONS
from lfd.constants import SHADOW_LABELS, SHADOW_METRICS
from lfd.response import SCORE_PATH, build_request, results_for

QUANTITIES = ("transactions", "agreement", "alert_rate_ratio")


def queries(champion_version: str, challenger_version: str) -> dict[str, str]:
    champion, challenger = SHADOW_LABELS
    sel = f'{champion}="{champion_version}",{challenger}="{challenger_version}"'
    # max: one monitor per stream is expected; a second replica exporting the same pair must not add up.
    return {q: f"max({SHADOW_METRICS[q]}{{{sel}}})" for q in QUANTITIES}


def judge(
    transactions: float | None,
    agreement: float | None,
    alert_rate_ratio: float | None,
    min_transactions: int,
    max_alert_rate_ratio: float,
    min_agreement: float,
) -> Verdict:
    """Pure verdict; None means Prometheus has no such series (no monitor, or no pair of these versions yet)."""
    if transactions is None or agreement is None or alert_rate_ratio is None or transactions < min_transactions:
        seen = 0 if transactions is None else int(transactions)
        return Verdict("Inconclusive", f"shadow: {seen} transactions scored by both (< {min_transactions})")
    summary = (
        f"shadow: {int(transactions)} transactions, agreement {agreement:.4f} (min {min_agreement}), "
        f"alert-rate ratio {alert_rate_ratio:.2f} (max {max_alert_rate_ratio})"
    )
    if math.isnan(agreement) or agreement < min_agreement:
        return Verdict("Failed", summary + ": the challenger disagrees with the champion too often")
    if math.isnan(alert_rate_ratio) or alert_rate_ratio > max_alert_rate_ratio:
        return Verdict("Failed", summary + ": the challenger alerts too often")
    return Verdict("Passed", summary)


def served_version(base_url: str) -> str:
    """The model version a scoring service reports (one canned transaction through ``/score``)."""
    sent = [CANNED_TRANSACTIONS[0]]
    try:
        response = httpx.post(f"{base_url}{SCORE_PATH}", json=build_request(sent), timeout=10.0)
    except httpx.TransportError as e:
        raise Unreachable(f"shadow: {base_url} unreachable: {e}") from e
    if response.status_code != 200:
        raise Unreachable(f"shadow: {base_url} answered HTTP {response.status_code}: {response.text[:200]}")
    try:
        return str(results_for([tx["id"] for tx in sent], response.json())[0]["model"]["version"])
    except (ValueError, KeyError, IndexError, TypeError) as e:
        raise CannotRun(f"shadow: {base_url} did not report its model version: {e}") from e


def run_shadow(
    prometheus_url: str,
    champion_version: str | None,
    challenger_version: str | None,
    min_transactions: int,
    max_alert_rate_ratio: float,
    min_agreement: float,
) -> Verdict:
    """Query and judge; an Inconclusive verdict (too few pairs) becomes ``Unreachable``: wait, do not decide."""
    if not champion_version or not challenger_version:
        raise CannotRun(
            "shadow: both colours must report a model version in their answers; "
            f"got champion {champion_version!r}, challenger {challenger_version!r}"
        )
    with httpx.Client(timeout=10.0) as client:
        values = {q: instant(client, prometheus_url, query, "shadow") for q, query in queries(champion_version, challenger_version).items()}  # fmt: skip
    verdict = judge(
        values["transactions"],
        values["agreement"],
        values["alert_rate_ratio"],
        min_transactions,
        max_alert_rate_ratio,
        min_agreement,
    )
    if verdict.result == "Inconclusive":
        raise Unreachable(verdict.message + f" for champion {champion_version} vs challenger {challenger_version}")
    return verdict
