"""The product wheel (what the images install, `uv pip install .`) carries product code only: no dev-stack
module (lfd_dev), no `lfd` dev command, and every product package it should."""

from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from lfd_dev.settings import Settings

PRODUCT_PACKAGES = {"lfd", "scoring", "fraud_operator"}
TEST_ONLY = {"tritonclient", "papermill", "ipykernel", "nbformat", "pytest", "hypothesis"}


def _build_wheel(settings: Settings, out: Path) -> Path:
    uv = settings.cache / f"uv-{settings.versions['UV_VERSION']}" / "bin" / "uv"
    done = subprocess.run(
        [str(uv), "build", "--wheel", "--out-dir", str(out), str(settings.repo)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    wheels = list(out.glob("live_fraud_detector-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def wheel(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    return zipfile.ZipFile(_build_wheel(stack_settings, tmp_path_factory.mktemp("wheel")))


@pytest.mark.integration
def test_wheel_holds_the_product_packages_and_no_dev_stack(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == PRODUCT_PACKAGES
    modules = {name for name in names if name.endswith(".py")}
    assert not [m for m in modules if "lfd_dev" in m]
    # Moved out by issue 9: the stack manager, the demo, the umbrella CLI, the local job runner.
    assert not {"lfd/cli.py", "lfd/demo.py", "lfd/streaming/local.py"} & modules
    assert not [m for m in modules if m.startswith("lfd/stack/")]
    # ...while each area's own entry point ships.
    assert {"scoring/__main__.py", "fraud_operator/__main__.py", "lfd/training/__main__.py"} <= modules


@pytest.mark.integration
def test_wheel_declares_no_dev_command(wheel: zipfile.ZipFile) -> None:
    [entry_points] = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(entry_points).decode()
    scripts = [line.split("=")[0].strip() for line in text.split("[console_scripts]")[1].splitlines() if "=" in line]
    assert scripts == ["kubectl-fraudmodel"]  # the kubectl plugin is a product command; `lfd` is lfd-dev's


@pytest.mark.integration
def test_wheel_metadata_offers_images_no_test_or_cloud_dependency(wheel: zipfile.ZipFile) -> None:
    """What `uv pip install .[main]` can pull into an image: no Pulumi SDK, no test-only client."""
    [metadata] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    required = re.findall(r"^Requires-Dist:\s*([A-Za-z0-9_.-]+)", wheel.read(metadata).decode(), flags=re.MULTILINE)
    assert {"bentoml", "kopf", "numpy"} <= set(required)  # the image dependencies are there...
    leaked = [name for name in required if name.startswith("pulumi") or name in TEST_ONLY]
    assert leaked == [], "cloud/test-only packages belong in dependency groups, not in the main extra"
