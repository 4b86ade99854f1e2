"""The operator uses kopf's public API only: no ``_``-prefixed kopf module, attribute or registry internals.

It once reached into ``registry._spawning._handlers`` to drop a timer's finalizer; a kopf upgrade could change
that silently. ``periodic.py`` replaced the timer, and this check keeps private access from coming back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

OPERATOR = Path(__file__).resolve().parents[2] / "operator" / "fraud_operator"
PRIVATE = re.compile(
    r"\bkopf(?:\.\w+)*\._"  # kopf._core..., kopf.x._y
    r"|\bfrom\s+kopf\._"  # from kopf._cogs import ...
    r"|registry\._"  # registry._spawning, registry._changing, ...
)


def private_kopf_uses(root: Path) -> list[str]:
    return [
        f"{path.relative_to(root.parent)}:{number}: {line.strip()}"
        for path in sorted(root.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if PRIVATE.search(line)
    ]


@pytest.mark.unit
def test_operator_code_uses_no_private_kopf_api() -> None:
    assert private_kopf_uses(OPERATOR) == []


@pytest.mark.unit
def test_the_check_finds_what_it_forbids(tmp_path: Path) -> None:
    pkg = tmp_path / "fraud_operator"
    pkg.mkdir()
    (pkg / "handlers.py").write_text(
        "spawning = registry._spawning\n"
        "from kopf._core.intents import handlers\n"
        "kopf._cogs.configs\n"
        "kopf.on.timer(interval=1)  # public: fine\n"
    )
    assert [hit.split(":")[1] for hit in private_kopf_uses(pkg)] == ["1", "2", "3"]
