"""The tree keeps the shape a newcomer can read: no module of the three packages grows past what
one sitting can read (the study-layer redesign split the two that had)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MAX_LINES = 600
MODULES = sorted(p for pkg in ("audiocodecs", "bench", "taae") for p in (REPO / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_module_is_longer_than_one_sitting(path: Path) -> None:
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(REPO)}: {n} lines (> {MAX_LINES}); split it by job"
