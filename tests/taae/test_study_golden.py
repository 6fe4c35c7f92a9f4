"""The study's pages regenerate byte-identical from the committed result files (golden files: the
committed ``ABLATION.md`` and ``tests.json`` of each study), so a refactor of :mod:`taae.study`
or :mod:`bench.stats` that changes a number or a word fails here."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from taae.study import write_report

REPO = Path(__file__).resolve().parents[2]
STUDIES = sorted(p.parent.name for p in (REPO / "results").glob("ablation*/study.json"))


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # every study together: a report reads its sibling studies (the longer-training check)
    root = tmp_path_factory.mktemp("golden") / "results"
    for name in STUDIES:
        shutil.copytree(REPO / "results" / name, root / name)
    for name in STUDIES:
        write_report(root / name, REPO / "runs" / name)
    return root


@pytest.mark.parametrize("name", STUDIES)
@pytest.mark.parametrize("page", ["ABLATION.md", "tests.json"])
def test_study_pages_regenerate_byte_identical(regenerated: Path, name: str, page: str) -> None:
    committed = (REPO / "results" / name / page).read_text()
    assert (regenerated / name / page).read_text() == committed, (
        f"results/{name}/{page} is not what `python -m taae ablate --stages report` writes from "
        "the committed result files: regenerate it (make ablation-report) or fix the change"
    )
