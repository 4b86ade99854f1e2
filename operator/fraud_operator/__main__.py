"""``python -m fraud_operator run|crd ...``: the operator's container entry point (same options as
``lfd operator``), without the dev stack or the other areas' CLIs."""

from __future__ import annotations

import sys

from fraud_operator.cli import register
from lfd.area_entry import run

if __name__ == "__main__":
    sys.exit(run("python -m fraud_operator", register, command="operator"))
