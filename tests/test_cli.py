"""The command line: listing, one-line errors with non-zero exit, a small real run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cli import main

REPO = Path(__file__).resolve().parent.parent


def test_list_shows_codecs_metrics_and_availability(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "opus@6kbps" in out and "available" in out and "DNSMOS OVRL" in out


def test_unknown_codec_is_one_line_error_with_suggestion(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["run", "--codecs", "opuss@6kbps", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "did you mean" in err[0] and "opus@6kbps" in err[0]


def test_bad_shard_spec_is_rejected(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["run", "--codecs", "passthrough", "--shard", "3/2", "--no-progress"]) == 2
    assert "--shard" in capsys.readouterr().err


def test_run_as_a_subprocess_writes_a_result(tmp_path: Path, speech_folder: Path) -> None:
    out = tmp_path / "res"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "run", "--codecs", "passthrough", "--dataset",
         str(speech_folder), "--metrics", "sisdr,stoi", "--workers", "0", "--out", str(out),
         "--no-progress", "--shard", "0/2"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    files = list(out.glob("*/passthrough.json"))
    assert len(files) == 1
    res = json.loads(files[0].read_text())
    assert [u["id"] for u in res["utterances"]] == ["clip0", "clip2"]  # shard 0 of 2


def test_list_fits_a_100_column_terminal(capsys) -> None:  # type: ignore[no-untyped-def]
    for argv in (["list"], ["list", "--all"]):
        assert main(argv) == 0
        lines = capsys.readouterr().out.splitlines()
        assert max(len(line) for line in lines) <= 100, max(lines, key=len)


def test_list_why_explains_one_codec(capsys) -> None:  # type: ignore[no-untyped-def]
    from audiocodecs import list_codecs

    missing = [(e, r) for e, r in list_codecs() if r is not None and not e.test_only]
    if not missing:
        pytest.skip("every codec is available here")
    entry, reason = missing[0]
    assert main(["list", "--why", entry.name]) == 1
    out = capsys.readouterr().out
    assert entry.name in out and reason in out  # the whole reason, not a clipped one
    assert main(["list", "--why", "passthrough"]) == 0
    assert "available" in capsys.readouterr().out


def test_list_shows_metric_availability_and_why(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("MOSNET_WEIGHTS", str(tmp_path / "absent.h5"))
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("| mosnet "))
    assert "| no " in row and "metric(s) unavailable" in out
    assert main(["list", "--why", "mosnet"]) == 1
    assert "absent.h5" in capsys.readouterr().out
    assert main(["list", "--why", "pesq_wb"]) == 0
    assert "available" in capsys.readouterr().out
