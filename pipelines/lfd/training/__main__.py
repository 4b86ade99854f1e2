"""``python -m lfd.training train|promote|generate``: the training commands without the dev stack
(same options as ``lfd train`` etc.; MLflow from --tracking-uri or $MLFLOW_TRACKING_URI)."""

from __future__ import annotations

import sys

from lfd.area_entry import run
from lfd.training.cli import register

if __name__ == "__main__":
    sys.exit(run("python -m lfd.training", register))
