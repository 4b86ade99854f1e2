"""Defaults shared by the CLI and the steps; standard library only, so ``lfd --help`` stays instant."""

from __future__ import annotations

from lfd.constants import DEV_DATA

DEFAULT_DATA = DEV_DATA
#: Optuna tuning seconds over all families; the whole default run stays under 5 minutes on 2 cores.
DEFAULT_TIME_BUDGET = 200.0
DEFAULT_REVIEW_COST = 5.0
#: A sanity gate, far below the measured ~0.82: a model under it is broken, not merely weak.
DEFAULT_MIN_VALIDATION_PR_AUC = 0.5
