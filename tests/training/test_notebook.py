"""The comparison notebook executes end to end on a small budget, so it never rots."""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill
import pytest

from lfd_dev.settings import REPO_ROOT

NOTEBOOK = REPO_ROOT / "notebooks" / "model_comparison.ipynb"


@pytest.mark.integration
def test_model_comparison_notebook_executes(tmp_path: Path) -> None:
    out = tmp_path / "executed.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOK),
        str(out),
        kernel_name="python3",
        progress_bar=False,
        cwd=str(tmp_path),
        parameters={"time_budget": 4.0, "max_trials": 1, "threads": 1},
    )
    executed = nbformat.read(out, as_version=4)
    outputs = [o for cell in executed.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "time split" in text and "winner" in text
    assert "pr_auc_weighted" in text
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 2  # curves and trade-off
