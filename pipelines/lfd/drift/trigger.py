"""When to retrain: drift or label-based decay, with hysteresis and a cooldown so it does not flap (pure).

Two signals, each with an *on* level and a lower *off* level:

- feature drift: the share of drifted features (``lfd drift``); on at 0.3, off below 0.15;
- label decay: how far the label-based weighted PR-AUC fell under the model's held-out figure, counted
  only on windows with at least ``min_frauds`` frauds (fewer is noise); on at 0.15, off below 0.07.

A signal *breaches* when it is at or over its on level. The trigger fires after ``consecutive``
evaluations in a row with a breach, and then not again until (a) every signal has gone back under
its off level (hysteresis: a level hovering around the line fires once, not each time it crosses)
and (b) ``cooldown_s`` have passed since the last firing (a retrain takes time to show up in labels).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Policy:
    drift_on: float = 0.3
    drift_off: float = 0.15
    decay_on: float = 0.15
    decay_off: float = 0.07
    min_frauds: int = 20
    consecutive: int = 2
    cooldown_s: float = 3600.0

    def __post_init__(self) -> None:
        if not 0 <= self.drift_off < self.drift_on:
            raise ValueError(f"drift_off must be in [0, drift_on), got {self.drift_off} vs {self.drift_on}")
        if not 0 <= self.decay_off < self.decay_on:
            raise ValueError(f"decay_off must be in [0, decay_on), got {self.decay_off} vs {self.decay_on}")
        if self.consecutive < 1 or self.cooldown_s < 0 or self.min_frauds < 1:
            raise ValueError("consecutive and min_frauds must be >= 1 and cooldown_s >= 0")


@dataclass(frozen=True)
class Signals:
    drift_share: float | None = None  # None: no drift run yet
    label_pr_auc: float | None = None
    baseline_pr_auc: float | None = None  # the model's held-out figure
    label_frauds: int = 0


@dataclass(frozen=True)
class State:
    armed: bool = True  # False after firing, until every signal is back under its off level
    breaches: int = 0  # consecutive evaluations with a breach
    last_fired_s: float | None = None


@dataclass(frozen=True)
class Decision:
    fire: bool
    reason: str
    state: State


def decay(signals: Signals, policy: Policy) -> float | None:
    """PR-AUC points lost against the baseline, or None when the window is too small to say."""
    if signals.label_pr_auc is None or signals.baseline_pr_auc is None or math.isnan(signals.label_pr_auc):
        return None
    if signals.label_frauds < policy.min_frauds:
        return None
    return signals.baseline_pr_auc - signals.label_pr_auc


def decide(signals: Signals, state: State, now_s: float, policy: Policy = Policy()) -> Decision:
    lost = decay(signals, policy)
    drift = signals.drift_share
    breach = []
    if drift is not None and drift >= policy.drift_on:
        breach.append(f"drift share {drift:.2f} >= {policy.drift_on}")
    if lost is not None and lost >= policy.decay_on:
        breach.append(f"label PR-AUC {signals.label_pr_auc:.3f} is {lost:.3f} under {signals.baseline_pr_auc:.3f}")
    calm = (drift is None or drift < policy.drift_off) and (lost is None or lost < policy.decay_off)
    armed = state.armed or calm
    breaches = state.breaches + 1 if breach else 0
    cooling = state.last_fired_s is not None and now_s - state.last_fired_s < policy.cooldown_s
    new = replace(state, armed=armed, breaches=breaches)
    if not breach:
        return Decision(False, "calm" if calm else "between the off and on levels", new)
    what = "; ".join(breach)
    if not armed:
        return Decision(False, f"{what}, but not re-armed since the last retrain (hysteresis)", new)
    if cooling:
        left = policy.cooldown_s - (now_s - (state.last_fired_s or 0.0))
        return Decision(False, f"{what}, but cooling down ({left:.0f} s left)", new)
    if breaches < policy.consecutive:
        return Decision(False, f"{what} ({breaches}/{policy.consecutive} in a row)", new)
    return Decision(True, what, State(armed=False, breaches=0, last_fired_s=now_s))
