"""Unit: how the journey reads whether the job's scores followed a blue-green switch (pure functions)."""

from __future__ import annotations

from typing import Any

import pytest

from lfd_dev.stream_follow import Followed, Switch, followed, note_switch, render, report, timeline

pytestmark = pytest.mark.unit


def _score(at_ms: int, colour: str, version: str = "1") -> dict[str, Any]:
    return {"processing_time_ms": at_ms, "model": {"colour": colour, "version": version}}


def test_each_switch_is_judged_only_until_the_next_one() -> None:
    scores = [_score(t, "blue") for t in (0, 900, 1_400)] + [_score(t, "green", "2") for t in (1_200, 1_900)]
    scores += [_score(t, "blue") for t in (3_100, 3_500)] + [_score(2_950, "green", "2")]
    switches = [Switch(1_000, "green"), Switch(3_000, "blue")]

    assert followed(scores, switches) == [
        Followed(switches[0], first_new_ms=200, last_old_ms=400),  # blue at 1,400 is after the switch
        Followed(switches[1], first_new_ms=100, last_old_ms=None),  # green at 2,950 came before it
    ]


def test_a_switch_never_followed_has_no_first_new_score() -> None:
    [result] = followed([_score(5_000, "blue")], [Switch(1_000, "green")])
    assert result.first_new_ms is None and result.last_old_ms == 4_000


def test_timeline_counts_each_bin_by_the_model_that_scored() -> None:
    rows = timeline([_score(100, "blue"), _score(4_900, "blue"), _score(5_000, "green", "2")], start_ms=0)
    assert [(at, dict(c)) for at, c in rows] == [(0.0, {"blue v1": 2}), (5.0, {"green v2": 1})]
    text = render(rows, [Switch(5_500, "green")], start_ms=0)
    assert "green v2" in text.splitlines()[1] and "← stable Service → green" in text.splitlines()[1]


def test_note_switch_records_a_new_switched_at_once() -> None:
    switches: list[Switch] = []
    for status in (
        {"activeColour": "blue", "switchedAt": "2026-12-01T10:00:00Z"},
        {"activeColour": "blue", "switchedAt": "2026-12-01T10:00:00Z", "phase": "Progressing"},
        {"phase": "Progressing"},
        {"activeColour": "green", "switchedAt": "2026-12-01T10:01:30Z"},
    ):
        note_switch(switches, status)
    assert switches == [Switch(1_796_119_200_000, "blue"), Switch(1_796_119_290_000, "green")]


def test_report_judges_only_the_switches_since_the_stream_started() -> None:
    scores = [_score(10_000, "blue"), _score(12_500, "green", "2"), _score(16_000, "green", "2")]
    before, during = Switch(5_000, "blue"), Switch(12_000, "green")

    judged, text = report(scores, [before, during], start_ms=10_000)

    assert judged == [Followed(during, first_new_ms=500, last_old_ms=None)]
    assert (
        text.splitlines()[-1] == "    switch → green: first green score 0.5s after it, no other-colour score after it"
    )
