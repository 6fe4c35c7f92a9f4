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
