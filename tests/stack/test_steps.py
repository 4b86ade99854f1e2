"""The demos' step runner: titles and results printed in order, the first failure named and the rest skipped."""

from __future__ import annotations

import pytest

from lfd_dev.steps import run_steps

pytestmark = pytest.mark.unit


def test_steps_run_in_order_and_report_how_long(capsys: pytest.CaptureFixture[str]) -> None:
    took = run_steps("demo", [1, 2], [("first", lambda s: f"saw {s[0]}"), ("second", lambda s: f"saw {s[1]}")])
    assert took is not None and took >= 0
    assert capsys.readouterr().out == "==> first\nsaw 1\n==> second\nsaw 2\n"


def test_the_first_failure_is_named_and_stops_the_demo(capsys: pytest.CaptureFixture[str]) -> None:
    ran: list[str] = []

    def fails(_: None) -> str:
        raise RuntimeError("the broker is down")

    def after(_: None) -> str:
        ran.append("after")
        return "never"

    assert run_steps("demo-drift", None, [("produce", fails), ("score", after)]) is None
    out = capsys.readouterr()
    assert out.err == "demo-drift step 'produce' failed: the broker is down\n" and ran == []
