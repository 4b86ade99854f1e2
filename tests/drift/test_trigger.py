"""The retraining trigger, table-tested: hysteresis, consecutive breaches, cooldown, small windows."""

from __future__ import annotations

import pytest

from lfd.drift.trigger import Policy, Signals, State, decide

P = Policy(drift_on=0.3, drift_off=0.15, decay_on=0.15, decay_off=0.07, min_frauds=20, consecutive=2, cooldown_s=100)


def drift(share: float) -> Signals:
    return Signals(drift_share=share)


def decay(pr_auc: float, frauds: int = 30) -> Signals:
    return Signals(label_pr_auc=pr_auc, baseline_pr_auc=0.8, label_frauds=frauds)


def run(steps: list[tuple[float, Signals]]) -> list[bool]:
    fired, state = [], State()
    for now, signals in steps:
        decision = decide(signals, state, now, P)
        fired.append(decision.fire)
        state = decision.state
    return fired


@pytest.mark.unit
@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        # no data at all: nothing
        ([(0, Signals()), (10, Signals())], [False, False]),
        # steady under the line: nothing
        ([(t, drift(0.2)) for t in range(0, 50, 10)], [False] * 5),
        # one breach is not enough; two in a row fire
        ([(0, drift(0.4)), (10, drift(0.4))], [False, True]),
        # a breach, a dip, a breach: not consecutive
        ([(0, drift(0.4)), (10, drift(0.2)), (20, drift(0.4))], [False, False, False]),
        # after firing, hovering around the on line does not fire again (not back under the off level)
        (
            [(0, drift(0.4)), (10, drift(0.4)), (200, drift(0.25)), (210, drift(0.35)), (220, drift(0.35))],
            [False, True, False, False, False],
        ),
        # back under the off level re-arms; after the cooldown a new breach fires
        (
            [(0, drift(0.4)), (10, drift(0.4)), (120, drift(0.1)), (130, drift(0.4)), (140, drift(0.4))],
            [False, True, False, False, True],
        ),
        # re-armed but still cooling down: no firing until the cooldown has passed
        (
            [
                (0, drift(0.4)),
                (10, drift(0.4)),
                (20, drift(0.1)),
                (30, drift(0.4)),
                (40, drift(0.4)),
                (111, drift(0.4)),
            ],
            [False, True, False, False, False, True],
        ),
        # label decay alone fires (features unchanged)
        ([(0, decay(0.6)), (10, decay(0.6))], [False, True]),
        # the same decay on 5 frauds is noise: nothing
        ([(0, decay(0.6, frauds=5)), (10, decay(0.6, frauds=5))], [False, False]),
        # a small dip under the baseline: nothing
        ([(0, decay(0.75)), (10, decay(0.75))], [False, False]),
    ],
)
def test_trigger_table(steps: list[tuple[float, Signals]], expected: list[bool]) -> None:
    assert run(steps) == expected


@pytest.mark.unit
def test_reason_says_why() -> None:
    first = decide(drift(0.4), State(), 0, P)
    assert not first.fire and "1/2 in a row" in first.reason
    second = decide(drift(0.4), first.state, 1, P)
    assert second.fire and "drift share 0.40 >= 0.3" in second.reason
    third = decide(drift(0.4), second.state, 2, P)
    assert "hysteresis" in third.reason


@pytest.mark.unit
@pytest.mark.parametrize(
    "kwargs", [{"drift_on": 0.1, "drift_off": 0.2}, {"decay_on": 0.1, "decay_off": 0.1}, {"consecutive": 0}]
)
def test_bad_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Policy(**kwargs)  # type: ignore[arg-type]
