"""`bench throughput`: thread control is applied for the measurement and undone afterwards."""

from __future__ import annotations

import torch

from bench.throughput import measure, throughput_table


def test_threads_are_set_for_the_measurement_and_restored() -> None:
    before = torch.get_num_threads()
    row = measure("passthrough", seconds=0.5, repeats=2, threads=1)
    assert row["threads"] == 1 and row["threads_requested"] == 1
    assert torch.get_num_threads() == before
    assert row["encode_xrt"] > 0 and row["decode_xrt"] > 0
    lo, hi = row["encode_xrt_range"]
    assert lo <= row["encode_xrt"] <= hi
    default = measure("passthrough", seconds=0.5, repeats=1)
    assert default["threads"] == before and "threads_requested" not in default
    table = throughput_table([row, default])
    assert "threads" in table.splitlines()[0]


def test_throughput_cli_writes_every_combination_and_feeds_the_leaderboard(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from bench.cli import main
    from bench.leaderboard import load_speed, render_speed

    out = tmp_path / "perf" / "throughput_cpu_test.json"
    # two codecs: each is measured in its own fresh process (its peak RSS is its own)
    argv = ["throughput", "--codecs", "passthrough,passthrough@24khz", "--batch-size", "1", "2"]
    argv += ["--threads", "1", "--seconds", "0.5", "--repeats", "1", "--out", str(out)]
    assert main(argv) == 0
    data = json.loads(out.read_text())
    got = [(r["codec"], r["batch_size"], r["threads"]) for r in data["rows"]]
    assert got == [
        ("passthrough", 1, 1),
        ("passthrough", 2, 1),
        ("passthrough@24khz", 1, 1),
        ("passthrough@24khz", 2, 1),
    ]
    assert data["provenance"]["git"] and data["provenance"]["packages"]
    (tmp_path / "perf" / "throughput_legacy.json").write_text("[]")  # other shapes are skipped
    files = load_speed(tmp_path)
    assert [f["file"] for f in files] == ["throughput_cpu_test.json"]
    text = "\n".join(render_speed(files))
    assert "results/perf/throughput_cpu_test.json" in text and text.count("| passthrough") == 4
