"""The repeated-seed summary: mean ± sample sd per family and for the per-seed winner."""

from __future__ import annotations

import pytest

from lfd.training.repeat import WINNER_RULES, Candidate, SeedResult, choose_family, summarise


@pytest.mark.unit
def test_summary_gives_mean_and_sample_sd_per_family_and_for_the_winner() -> None:
    results = [
        SeedResult(0, "xgboost", {"pr_auc_weighted": 0.80}, winner=True),
        SeedResult(0, "lightgbm", {"pr_auc_weighted": 0.70}, winner=False),
        SeedResult(1, "xgboost", {"pr_auc_weighted": 0.90}, winner=False),
        SeedResult(1, "lightgbm", {"pr_auc_weighted": 0.95}, winner=True),
    ]
    table = summarise(results, ["pr_auc_weighted"]).splitlines()
    assert table[0] == "| model | seeds | pr_auc_weighted |"
    assert "| xgboost | 2 | 0.850 ± 0.071 |" in table  # sd of (0.8, 0.9) with n-1: 0.0707
    assert "| lightgbm | 2 | 0.825 ± 0.177 |" in table
    assert "| winner | 2 | 0.875 ± 0.106 |" in table  # 0.80 (seed 0) and 0.95 (seed 1)


@pytest.mark.unit
def test_one_seed_has_no_spread() -> None:
    table = summarise([SeedResult(3, "xgboost", {"m": 0.5}, winner=True)], ["m"])
    assert "| xgboost | 1 | 0.500 |" in table


@pytest.mark.unit
def test_compare_rules_family_choice_is_the_pipelines() -> None:
    """--compare-rules must read the family choice exactly as the pipeline makes it (preferred: lightgbm)."""
    noisy = [
        Candidate("xgboost", 0.825, 0.68, (1.00, 0.68, 0.73, 0.89)),
        Candidate("lightgbm", 0.80, 0.86, (0.80, 0.70, 0.75, 0.95)),
    ]
    assert choose_family(noisy, "best")[0].family == "xgboost"
    winner, why = choose_family(noisy, "robust")
    assert winner.family == "lightgbm" and why.startswith("lightgbm kept (preferred)")
    assert set(WINNER_RULES) == {"best", "robust trials, family by mean", "robust"}
