"""`git_info`: the commit and a dirty flag that ignores the harness's own outputs in results/."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import bench.results as results_mod


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_dirty_ignores_results_but_not_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "a.json").write_text("{}\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    monkeypatch.setattr(results_mod, "REPO_ROOT", tmp_path)

    assert results_mod.git_info()["dirty"] is False
    (tmp_path / "results" / "a.json").write_text('{"rewritten": true}\n')
    assert results_mod.git_info()["dirty"] is False
    (tmp_path / "code.py").write_text("x = 2\n")
    info = results_mod.git_info()
    assert info["dirty"] is True and len(info["commit"]) == 40
