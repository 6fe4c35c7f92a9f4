"""The regression gate passes on an unchanged codec and bites on a planted degraded one."""

from __future__ import annotations

from pathlib import Path

from audiocodecs import Codec, get_codec
from bench.check import run_check, update_baselines
from bench.data import folder_dataset
from tests.test_runner import NoisyPassthrough

METRICS = ["sisdr", "mel", "pesq_wb"]


def _baseline(tmp_path: Path, speech_folder: Path) -> Path:
    folder = tmp_path / "baselines"
    update_baselines(
        folder, ["passthrough"], workers=0, dataset=folder_dataset(speech_folder), metrics=METRICS
    )
    return folder


def test_gate_passes_when_nothing_changed(tmp_path: Path, speech_folder: Path) -> None:
    ok, report = run_check(_baseline(tmp_path, speech_folder), workers=0)
    assert ok, report
    assert "PASS" in report


def test_gate_fails_on_a_planted_degraded_codec(tmp_path: Path, speech_folder: Path) -> None:
    folder = _baseline(tmp_path, speech_folder)

    def degraded(name: str) -> Codec:
        codec = NoisyPassthrough(level=0.02)
        codec.name = name
        return codec

    ok, report = run_check(folder, workers=0, factory=degraded)
    assert not ok
    assert "FAIL" in report and "pesq_wb" in report


def test_gate_fails_when_a_baselined_codec_cannot_run(tmp_path: Path, speech_folder: Path) -> None:
    folder = _baseline(tmp_path, speech_folder)

    def missing(name: str) -> Codec:
        return get_codec("no_such_codec")

    ok, report = run_check(folder, workers=0, factory=missing)
    assert not ok and "cannot run" in report


def test_gate_without_baselines_fails_loudly(tmp_path: Path) -> None:
    ok, report = run_check(tmp_path / "empty", workers=0)
    assert not ok and "--update" in report
