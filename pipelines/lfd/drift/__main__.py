"""``python -m lfd.drift drift|monitor|replay|dashboard``: the drift commands in an image (the chart's drift
CronJob runs ``python -m lfd.drift drift``), without the dev stack: endpoints come from flags or the
environment (``KAFKA_BOOTSTRAP``, ``MLFLOW_TRACKING_URI``, ``PROMETHEUS_URL``)."""

from __future__ import annotations

import sys

from lfd.area_entry import run
from lfd.drift.cli import register

if __name__ == "__main__":
    sys.exit(run("python -m lfd.drift", register))
