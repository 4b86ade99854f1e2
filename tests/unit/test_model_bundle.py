"""Locating a model bundle inside what MLflow downloads."""

from __future__ import annotations

from pathlib import Path

import pytest

from lfd.model_bundle import BundleError, find_bundle_dir

pytestmark = pytest.mark.unit


def test_bundle_is_found_under_the_source_directory_name_mlflow_keeps(tmp_path: Path) -> None:
    (tmp_path / "artifacts" / "bundle0").mkdir(parents=True)
    (tmp_path / "artifacts" / "bundle0" / "metadata.json").write_text("{}")
    assert find_bundle_dir(tmp_path) == tmp_path / "artifacts" / "bundle0"
    (tmp_path / "artifacts" / "other").mkdir()
    (tmp_path / "artifacts" / "other" / "metadata.json").write_text("{}")
    with pytest.raises(BundleError, match="several model bundles"):
        find_bundle_dir(tmp_path)
