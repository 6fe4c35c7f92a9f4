"""`bench score`: audio decoded elsewhere scored like `bench run` scores a codec."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from audiocodecs import get_codec
from audiocodecs.resample import resample
from bench.audio import load_audio
from bench.data import Dataset, folder_dataset, get_dataset
from bench.results import load_result
from bench.runner import RunError, RunOptions, run_built_codec
from bench.score import (
    MAX_LENGTH_DIFF_MS,
    DecodedFolder,
    estimate_lag,
    remove_lag,
    score_decoded,
)
from tests.conftest import speech

METRICS = ["sisdr", "pesq_wb", "stoi"]


def _opts(out: Path, metrics: list[str] | None = None, **kw: object) -> RunOptions:
    return RunOptions(metrics=metrics or METRICS, out=out, progress=False, workers=0, **kw)  # type: ignore[arg-type]


def _refs(ds: Dataset) -> dict[str, np.ndarray]:
    return {u.id: load_audio(u.path).wav for u in ds.utterances}


def _by_id(result: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {r["id"]: r for r in result["utterances"]}


def test_scoring_files_decoded_elsewhere_matches_bench_run(tmp_path: Path) -> None:
    """The acceptance test: decode through a real codec, write 16-bit files, score them."""
    ds = get_dataset("default", limit=3)
    codec = get_codec("opus@6kbps")
    decoded = tmp_path / "decoded"
    decoded.mkdir()
    for uid, ref in _refs(ds).items():
        y = codec.roundtrip(torch.from_numpy(ref)[None, None], 16000).wav[0, 0].numpy()
        sf.write(decoded / f"{uid}.wav", y, 16000, subtype="PCM_16")
    sf.write(decoded / "not-in-the-set.wav", speech(1.0), 16000)  # listed, never scored
    out = tmp_path / "out"
    run = load_result(run_built_codec(codec, ds, _opts(out)))
    path = score_decoded(ds, decoded, "opus6-elsewhere", _opts(out), bps=6000)
    assert path == out / ds.slug / "opus6-elsewhere.json"
    res = load_result(path)
    assert res["counts"]["ok"] == run["counts"]["ok"] == 3
    for m in METRICS:
        assert res["summary"][m]["n"] == run["summary"][m]["n"] == 3
    assert res["summary"]["pesq_wb"]["mean"] == pytest.approx(
        run["summary"]["pesq_wb"]["mean"], abs=0.05
    )
    assert res["summary"]["stoi"]["mean"] == pytest.approx(run["summary"]["stoi"]["mean"], abs=0.01)
    assert res["summary"]["sisdr"]["mean"] == pytest.approx(
        run["summary"]["sisdr"]["mean"], abs=0.5
    )
    recs = _by_id(res)
    assert all(r["lag_ms"] == 0 for r in recs.values()), [r["lag_ms"] for r in recs.values()]
    assert all(r["stage"] is None and r["decoded_sr"] == 16000 for r in recs.values())
    # same schema as a run: what the leaderboard reads is there; the config says where it came from
    assert set(run) - set(res) == set()
    cfg = res["codec"]
    assert cfg["class"] == "bench.score.DecodedFolder" and cfg["scored_folder"] is True
    assert cfg["align"] is True and cfg["bps_source"] == "declared"
    assert res["bitrate"]["payload_bps"] == 6000
    assert res["throughput"]["encode_xrt"] is None and "decoded elsewhere" in res["scoring"]
    assert any("not-in-the-set.wav" in n for n in res["notes"])
    from bench.leaderboard import dataset_table, load_visible

    table = dataset_table(load_visible(out))
    assert "opus6-elsewhere" in table and "opus@6kbps" in table


def _shifted_folder(tmp_path: Path, ds: Dataset, shift_ms: float) -> Path:
    """The references themselves, delayed by ``shift_ms`` (> 0: leading zeros; < 0: cut)."""
    folder = tmp_path / f"shift{shift_ms:g}"
    folder.mkdir()
    k = round(shift_ms * 16)
    for uid, ref in _refs(ds).items():
        y = np.concatenate([np.zeros(k, np.float32), ref]) if k >= 0 else ref[-k:]
        sf.write(folder / f"{uid}.wav", y, 16000, subtype="PCM_16")
    return folder


def test_lag_is_estimated_reported_and_removed(tmp_path: Path) -> None:
    ds = get_dataset("default", limit=2)
    late = _shifted_folder(tmp_path, ds, 20.0)
    aligned = load_result(score_decoded(ds, late, "late", _opts(tmp_path / "a", ["sisdr"])))
    raw = load_result(
        score_decoded(ds, late, "late", _opts(tmp_path / "b", ["sisdr"]), align=False)
    )
    for r in aligned["utterances"]:
        assert r["status"] == "ok" and r["lag_ms"] == pytest.approx(20.0)
        assert r["lag_correlation"] > 0.99
        assert r["metrics"]["sisdr"] > 40  # the reference itself once the 20 ms are removed
    for r in raw["utterances"]:
        assert r["lag_ms"] == pytest.approx(20.0)  # reported, not removed
        assert r["metrics"]["sisdr"] < 5
    assert raw["codec"]["align"] is False and aligned["alignment"]["lag_ms"]["median"] == 20.0
    early = _shifted_folder(tmp_path, ds, -10.0)
    res = load_result(score_decoded(ds, early, "early", _opts(tmp_path / "c", ["sisdr"])))
    for r in res["utterances"]:
        assert r["lag_ms"] == pytest.approx(-10.0)
        assert r["metrics"]["sisdr"] > 20  # only the first 10 ms are lost


def test_a_lag_outside_the_window_or_no_match_is_partial_never_a_silent_ok(
    tmp_path: Path,
) -> None:
    """Issue #32: a 150 ms delay (outside ±100 ms) was "aligned" to 92 ms at r = 0.06 and scored
    ok; pure noise got a lag of −52 ms at r = 0.01, unflagged."""
    ds = get_dataset("default", limit=2)
    late = _shifted_folder(tmp_path, ds, 150.0)
    noise = tmp_path / "noise"
    noise.mkdir()
    rng = np.random.default_rng(0)
    for uid, ref in _refs(ds).items():
        sf.write(noise / f"{uid}.wav", 0.1 * rng.standard_normal(len(ref)), 16000, subtype="FLOAT")
    for folder in (late, noise):
        res = load_result(score_decoded(ds, folder, "x", _opts(tmp_path / folder.name, ["sisdr"])))
        assert res["counts"]["ok"] == 0 and res["counts"]["partial"] == 2
        for r in res["utterances"]:
            assert r["status"] == "partial" and r["stage"] == "align", r
            assert "--no-align" in r["error"] and r["lag_removed"] is False
            assert r["metrics"]["sisdr"] is not None  # scored, with the file's own timing
        assert res["alignment"]["not_trusted"] == 2
    # --no-align: the user vouches for the timing; nothing is removed and nothing is flagged
    raw = load_result(score_decoded(ds, late, "x", _opts(tmp_path / "raw", ["sisdr"]), align=False))
    assert raw["counts"]["ok"] == 2


def test_a_codec_that_sends_no_phase_is_aligned_on_its_envelope_and_stays_ok(
    tmp_path: Path,
) -> None:
    """Codec 2's waveform does not follow the reference (r ≈ 0): its lag comes from the energy
    envelope, trusted, and a known delay left in the files is found and removed."""
    pytest.importorskip("pycodec2")
    ds = get_dataset("default", limit=3)
    codec = get_codec("codec2@700")
    decoded = tmp_path / "decoded"
    decoded.mkdir()
    for uid, ref in _refs(ds).items():
        y = codec.roundtrip(torch.from_numpy(ref)[None, None], 16000).wav[0, 0].numpy()
        y = np.concatenate([np.zeros(640, np.float32), y])  # 40 ms of the codec's delay kept
        sf.write(decoded / f"{uid}.wav", y, 16000, subtype="PCM_16")
    res = load_result(score_decoded(ds, decoded, "c2", _opts(tmp_path / "out", ["stoi"])))
    assert res["counts"]["ok"] == 3
    for r in res["utterances"]:
        assert r["lag_method"] == "envelope" and r["lag_correlation"] < 0.3
        # Codec 2's own delay is removed to within a few ms (its envelope lag wobbles by a 5 ms
        # step from file to file: tests/test_reference_codecs.py), so 40 ± 10 ms
        assert r["envelope_correlation"] > 0.6 and abs(r["lag_ms"] - 40.0) <= 10.0, r
        assert r["length_diff_ms"] == pytest.approx(40.0 - r["lag_ms"])


def test_score_usage_errors_exit_2_and_a_folder_that_scores_nothing_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue #32: a missing --decoded folder exited 1 (usage errors are 2); a folder where every
    file failed exited 0."""
    from bench.cli import main

    common = ["--dataset", "default", "--limit", "2", "--metrics", "sisdr", "--workers", "0",
              "--no-progress", "--out", str(tmp_path / "out")]  # fmt: skip
    assert main(["score", "--decoded", str(tmp_path / "nope"), "--name", "x", *common]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "decoded folder not found" in err[0]
    ds = get_dataset("default", limit=2)
    short = tmp_path / "short"
    short.mkdir()
    for uid, ref in _refs(ds).items():  # half the length: a length mismatch each
        sf.write(short / f"{uid}.wav", ref[: len(ref) // 2], 16000, subtype="PCM_16")
    assert main(["score", "--decoded", str(short), "--name", "x", *common]) == 1
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert len(err) == 1 and "x: no utterance scored ok" in err[0] and "length mismatch" in err[0]
    assert (tmp_path / "out" / "LEADERBOARD.md").is_file()


def test_estimate_lag_and_remove_lag() -> None:
    ref = speech(1.0)
    for k in (0, 37, -250, 1600):
        dec = remove_lag(ref, -k)  # delay by k
        lag, corr = estimate_lag(ref, dec, 1600)
        assert lag == k and corr > 0.9
        back = remove_lag(dec, k)
        n = min(len(back), len(ref))
        assert np.array_equal(back[abs(k) : n], ref[abs(k) : n])
    # beyond the window the lag is not found
    assert estimate_lag(ref, remove_lag(ref, -2000), 1600)[0] != 2000


def test_every_bad_file_is_a_recorded_failure_with_its_reason(tmp_path: Path) -> None:
    names = ["good", "missing", "corrupt", "empty", "zerobytes", "short", "nan", "silent",
             "toolong", "duplicate", "nonaudio"]  # fmt: skip
    refs_dir = tmp_path / "refs"
    refs_dir.mkdir()
    refs = {}
    for i, n in enumerate(names):
        refs[n] = speech(1.5, index=i)
        sf.write(refs_dir / f"{n}.wav", refs[n], 16000, subtype="PCM_16")
    ds = folder_dataset(refs_dir)
    dec = tmp_path / "decoded"
    dec.mkdir()
    sf.write(dec / "good.wav", refs["good"], 16000)
    (dec / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage")
    sf.write(dec / "empty.wav", np.zeros(0, np.float32), 16000)
    (dec / "zerobytes.flac").write_bytes(b"")
    sf.write(dec / "short.wav", refs["short"][:3000], 16000)
    nan = refs["nan"].copy()
    nan[100:200] = np.nan
    sf.write(dec / "nan.wav", nan, 16000, subtype="FLOAT")
    sf.write(dec / "silent.wav", np.zeros(24000, np.float32), 16000)
    extra = int((MAX_LENGTH_DIFF_MS + 50) * 16)
    sf.write(dec / "toolong.wav", np.concatenate([refs["toolong"], speech(1.0)[:extra]]), 16000)
    sf.write(dec / "duplicate.wav", refs["duplicate"], 16000)
    sf.write(dec / "duplicate.flac", refs["duplicate"], 16000)
    (dec / "nonaudio.txt").write_text("not audio")
    (dec / ".hidden.wav").write_bytes(b"ignored")
    res = load_result(score_decoded(ds, dec, "bad", _opts(tmp_path / "out", ["sisdr", "stoi"])))
    by_id = _by_id(res)
    expected = {
        "missing": "missing decoded file",
        "corrupt": "unreadable",
        "empty": "empty",
        "zerobytes": "empty file (0 bytes)",
        "short": "too short",
        "nan": "NaN",
        "silent": "silent",
        "toolong": "length mismatch",
        "duplicate": "duplicate decoded files",
        "nonaudio": "not an audio suffix",
    }
    assert by_id["good"]["status"] == "ok" and by_id["good"]["metrics"]["sisdr"] > 40
    for uid, reason in expected.items():
        r = by_id[uid]
        assert r["status"] == "failed" and r["stage"] == "codec", (uid, r)
        assert reason in r["error"], (uid, r["error"])
        assert all(v is None for v in (r.get("metrics") or {}).values())
    assert "duplicate.flac" in by_id["duplicate"]["error"]
    assert "duplicate.wav" in by_id["duplicate"]["error"]
    assert res["counts"]["failed"] == len(expected) and res["counts"]["recorded"] == len(names)
    assert res["summary"]["sisdr"]["n"] == 1
    assert sum(res["failures"].values()) == len(expected)
    assert any("nonaudio.txt" in n for n in res["notes"])
    assert not any(".hidden" in n for n in res["notes"])


def test_interrupted_score_resumes_and_another_config_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = get_dataset("default", limit=3)
    dec = _shifted_folder(tmp_path, ds, 5.0)
    clean = load_result(score_decoded(ds, dec, "resumed", _opts(tmp_path / "clean")))
    opts = _opts(tmp_path / "out")
    real = DecodedFolder.roundtrip_utterance
    calls: list[str] = []

    def counting(self: DecodedFolder, utt, wav, sr):  # type: ignore[no-untyped-def]
        calls.append(utt.id)
        if stop_at is not None and len(calls) == stop_at:
            raise KeyboardInterrupt
        return real(self, utt, wav, sr)

    monkeypatch.setattr(DecodedFolder, "roundtrip_utterance", counting)
    stop_at: int | None = 2
    with pytest.raises(KeyboardInterrupt):
        score_decoded(ds, dec, "resumed", opts)
    journal = opts.out / ".work" / ds.slug / "resumed" / "journal.jsonl"
    lines = [json.loads(x) for x in journal.read_text().splitlines()]
    assert sum(x["type"] == "utterance" for x in lines) == 1
    stop_at = None
    for other in ({"align": False}, {"bps": 1200.0}):
        with pytest.raises(RunError, match="--fresh"):
            score_decoded(ds, dec, "resumed", opts, **other)  # type: ignore[arg-type]
    calls.clear()
    res = load_result(score_decoded(ds, dec, "resumed", opts))
    assert calls == [u.id for u in ds.utterances[1:]], "only the unfinished utterances are redone"
    for a, b in zip(res["utterances"], clean["utterances"], strict=True):
        a.pop("metric_seconds"), b.pop("metric_seconds")
        assert a == b
    assert not journal.exists()
    opts.fresh = True
    res = load_result(score_decoded(ds, dec, "resumed", opts, align=False))
    assert res["codec"]["align"] is False and res["counts"]["ok"] == 3


def test_other_rates_channels_and_over_full_scale_are_read_like_the_harness(
    tmp_path: Path,
) -> None:
    ds = get_dataset("default", limit=4)
    refs = _refs(ds)
    ids = list(refs)
    dec = tmp_path / "decoded"
    dec.mkdir()
    r0 = torch.from_numpy(refs[ids[0]])[None]
    sf.write(dec / f"{ids[0]}.flac", resample(r0, 16000, 24000)[0].numpy(), 24000)
    r1 = torch.from_numpy(refs[ids[1]])[None]
    sf.write(dec / f"{ids[1]}.wav", resample(r1, 16000, 8000)[0].numpy(), 8000, subtype="PCM_16")
    sf.write(dec / f"{ids[2]}.wav", np.stack([refs[ids[2]]] * 2, axis=1), 16000)
    loud = refs[ids[3]] * (1.5 / np.abs(refs[ids[3]]).max())
    sf.write(dec / f"{ids[3]}.wav", loud, 16000, subtype="FLOAT")
    res = load_result(score_decoded(ds, dec, "rates", _opts(tmp_path / "out")))
    by_id = _by_id(res)
    assert all(r["status"] == "ok" for r in by_id.values()), by_id
    r24, r8, stereo, over = (by_id[i] for i in ids)
    assert r24["decoded_sr"] == 24000 and "resampled 24000→16000 Hz" in r24["decoded_notes"]
    assert r24["metrics"]["sisdr"] > 35 and r24["lag_ms"] == 0
    assert r8["decoded_sr"] == 8000 and "resampled 8000→16000 Hz" in r8["decoded_notes"]
    assert r8["metrics"]["stoi"] > 0.8 and r8["metrics"]["sisdr"] < r24["metrics"]["sisdr"]
    assert any("downmixed 2→1" in n for n in stereo["decoded_notes"])
    assert stereo["metrics"]["sisdr"] > 40
    assert over["output_clipped_fraction"] > 0 and "beyond full scale" in over["decoded_notes"][0]


def test_payload_bitrate_from_bitstreams_declared_or_unknown(tmp_path: Path) -> None:
    ds = get_dataset("default", limit=3)
    dec = _shifted_folder(tmp_path, ds, 0.0)
    streams = tmp_path / "streams"
    streams.mkdir()
    sizes = dict(zip([u.id for u in ds.utterances], (750, 1000, 1301), strict=True))
    for (uid, size), ext in zip(sizes.items(), (".bin", ".opus", ""), strict=True):
        (streams / f"{uid}{ext}").write_bytes(b"\x01" * size)
    (streams / "stray.bin").write_bytes(b"x")
    res = load_result(
        score_decoded(ds, dec, "streams", _opts(tmp_path / "a", ["sisdr"]), bitstreams=streams)
    )
    seconds = sum(len(w) / 16000 for w in _refs(ds).values())
    assert res["bitrate"]["payload_bps"] == pytest.approx(8 * sum(sizes.values()) / seconds)
    assert res["bitrate"]["total_bytes"] == sum(sizes.values())
    assert [r["num_bytes"] for r in res["utterances"]] == list(sizes.values())
    assert res["codec"]["bps_source"] == "bitstreams" and any(
        "stray.bin" in n for n in res["notes"]
    )
    # a missing bitstream fails its utterance (the rate could not be measured on it)
    next(streams.glob(f"{ds.utterances[0].id}*")).unlink()
    res = load_result(
        score_decoded(ds, dec, "streams2", _opts(tmp_path / "b", ["sisdr"]), bitstreams=streams)
    )
    assert "missing bitstream file" in _by_id(res)[ds.utterances[0].id]["error"]
    assert res["bitrate"]["total_bytes"] == 1000 + 1301

    res = load_result(score_decoded(ds, dec, "unknown", _opts(tmp_path / "c", ["sisdr"])))
    assert res["bitrate"]["payload_bps"] is None and res["codec"]["bps_source"] == "unknown"
    assert any("payload bps unknown" in n for n in res["notes"])
    from bench.leaderboard import payload_bps

    assert payload_bps(res) is None

    with pytest.raises(RunError, match="not both"):
        score_decoded(ds, dec, "x", _opts(tmp_path / "d"), bps=700, bitstreams=streams)
    with pytest.raises(RunError, match="registered codec"):
        score_decoded(ds, dec, "opus@6kbps", _opts(tmp_path / "d"))
    with pytest.raises(RunError, match="not found"):
        score_decoded(ds, tmp_path / "nope", "x", _opts(tmp_path / "d"))
