"""The copula generator: seeded, exact fraud share, unique ids, contract-valid, correlations kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lfd.contract import FEATURES, parse_batch
from lfd.synthetic import SyntheticGenerator, _normal_cdf, _normal_ppf, to_records


@pytest.fixture(scope="module")
def generator(dev_frame: pd.DataFrame) -> SyntheticGenerator:
    return SyntheticGenerator.fit(dev_frame)


@pytest.mark.unit
def test_normal_ppf_inverts_cdf() -> None:
    u = np.linspace(1e-6, 1 - 1e-6, 1001)
    np.testing.assert_allclose(_normal_cdf(_normal_ppf(u)), u, atol=1e-8)


@pytest.mark.unit
def test_sample_is_seeded_with_exact_fraud_share(generator: SyntheticGenerator) -> None:
    a, b = generator.sample(5000, 0.01, seed=3), generator.sample(5000, 0.01, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert int(a["Class"].sum()) == 50
    assert not a.equals(generator.sample(5000, 0.01, seed=4))


@pytest.mark.unit
def test_records_satisfy_the_contract_with_unique_ids(generator: SyntheticGenerator) -> None:
    frame = generator.sample(2000, 0.05, seed=1)
    records = to_records(frame)
    assert "Class" not in records[0]
    parsed = parse_batch(records, max_batch=2000)  # raises on any violation or duplicate id
    assert len({t.id for t in parsed}) == 2000
    assert (frame["Time"].diff().dropna() >= 0).all()  # stream order
    other = generator.sample(10, 0.0, seed=2)
    assert not set(other["id"]) & set(frame["id"])


@pytest.mark.unit
def test_class_conditional_correlations_are_kept(generator: SyntheticGenerator, dev_frame: pd.DataFrame) -> None:
    fake = generator.sample(20000, 0.5, seed=0)
    for label in (0, 1):
        real_corr = np.corrcoef(dev_frame[dev_frame["Class"] == label][list(FEATURES[1:8])].T)
        fake_corr = np.corrcoef(fake[fake["Class"] == label][list(FEATURES[1:8])].T)
        strong = np.abs(real_corr) > 0.5
        np.fill_diagonal(strong, False)
        if strong.any():  # strong real correlations keep their sign and most of their size
            assert (np.sign(fake_corr[strong]) == np.sign(real_corr[strong])).all()
            assert (np.abs(fake_corr[strong]) > 0.5 * np.abs(real_corr[strong])).all()
    # frauds look like frauds: V14 is the best-known separator in this dataset
    assert fake[fake["Class"] == 1]["V14"].mean() < fake[fake["Class"] == 0]["V14"].mean() - 3


@pytest.mark.unit
def test_save_and_load_reproduce_samples(generator: SyntheticGenerator, tmp_path: Path) -> None:
    path = generator.save(tmp_path / "gen.npz")
    loaded = SyntheticGenerator.load(path)
    pd.testing.assert_frame_equal(loaded.sample(100, 0.1, seed=9), generator.sample(100, 0.1, seed=9))


@pytest.mark.unit
def test_bad_arguments_are_named(generator: SyntheticGenerator) -> None:
    with pytest.raises(ValueError, match="fraud_ratio"):
        generator.sample(10, 1.5)
