"""The rate–distortion plot stays readable where codecs crowd: every point is labelled once, no
label covers another label or another codec's marker, labels stay inside their axes, and the
sub-1-kbps codecs get a zoomed row of their own."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import matplotlib
import pytest

from bench.compare import compare
from bench.leaderboard import load_visible, payload_bps
from bench.plots import ZOOM_BELOW_BPS, plot_rate_distortion

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.text  # noqa: E402

RESULTS = Path(__file__).resolve().parent.parent / "results"
BOARDS = ("librispeech-test-clean-122", "default")


def _board(slug: str) -> list[dict[str, Any]]:
    rs = [r for r in load_visible(RESULTS) if r["dataset"]["slug"] == slug]
    if not rs:
        pytest.skip(f"no committed results for {slug}")
    return rs


def _plot(results: list[dict[str, Any]], path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Plot and return the figure (kept open), drawn at its own dpi."""
    kept: list[Any] = []
    monkeypatch.setattr(plt, "close", lambda fig=None: kept.append(fig))
    plot_rate_distortion(results, path)
    fig = kept[-1]
    fig.canvas.draw()  # the saved PNG used another dpi: measure at the figure's own
    return fig


def _png_size(path: Path) -> tuple[int, int]:
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    return width, height


@pytest.mark.parametrize("slug", BOARDS)
def test_labels_are_unique_apart_inside_and_off_other_markers(
    slug: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = _board(slug)
    fig = _plot(results, tmp_path / "rd.png", monkeypatch)
    renderer = fig.canvas.get_renderer()
    comp = compare(results)
    metrics = [m for m in ("pesq_wb", "stoi") if comp.common.get(m)]
    labelled: dict[int, list[str]] = {}
    for ax in fig.axes:
        if not ax.get_visible() or ax.get_legend() is None and not ax.texts:
            continue
        col = int(round(ax.get_position().x0 * len(metrics)))  # column = metric
        # the text alone (an annotation's extent would include its leader line)
        boxes = [(t.get_text(), matplotlib.text.Text.get_window_extent(t, renderer))
                 for t in ax.texts]  # fmt: skip
        labelled.setdefault(col, []).extend(name for name, _ in boxes)
        frame = ax.get_window_extent(renderer)
        for k, (name, box) in enumerate(boxes):
            assert frame.x0 <= box.x0 and box.x1 <= frame.x1, name
            assert frame.y0 <= box.y0 and box.y1 <= frame.y1, name
            for other, obox in boxes[k + 1 :]:
                assert not box.overlaps(obox), (name, other)
        centres = {  # every marker drawn on these axes, in pixels
            tuple(ax.transData.transform((c.lines[0].get_xdata()[0], c.lines[0].get_ydata()[0])))
            for c in ax.containers
        }
        for name, box in boxes:
            for cx, cy in centres:
                assert not box.contains(cx, cy), (name, (cx, cy))
    for col, metric in enumerate(metrics):
        expected = sorted(
            r["codec"]["name"]
            for r in results
            if payload_bps(r)
            and (comp.summary[r["codec"]["name"]].get(metric) or {}).get("mean") is not None
        )
        assert sorted(labelled[col]) == expected  # each point labelled exactly once


def test_a_zoomed_row_only_where_codecs_crowd_below_1_kbps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = _board("librispeech-test-clean-122")
    low = [r for r in results if 0 < (payload_bps(r) or 0) < ZOOM_BELOW_BPS]
    if len(low) < 3:
        pytest.skip("fewer than 3 committed codecs below 1 kbps")
    fig = _plot(results, tmp_path / "all.png", monkeypatch)
    assert len(fig.axes) == 4 and _png_size(tmp_path / "all.png")[1] == round(9.6 * 120)
    zoomed = [ax for ax in fig.axes if "zoomed" in ax.get_title()]
    assert len(zoomed) == 2
    for ax in zoomed:
        assert ax.get_xlim()[1] < ZOOM_BELOW_BPS * 1.2
        assert sorted(t.get_text() for t in ax.texts) == sorted(r["codec"]["name"] for r in low)
    pair = [r for r in results if r["codec"]["name"] in ("taae_fsq", "codec2@700", "opus@6kbps")]
    fig = _plot(pair, tmp_path / "pair.png", monkeypatch)
    assert len(fig.axes) == 2 and _png_size(tmp_path / "pair.png")[1] == round(5.2 * 120)
