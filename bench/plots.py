"""The rate–distortion plot of the leaderboard and the report: each codec's payload bitrate
against its quality metrics, labels placed so that none covers another, and a zoomed row where
the sub-1-kbps codecs crowd (``bench leaderboard``, ``bench report``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.compare import Comparison, compare


def payload_bps(result: dict[str, Any]) -> float | None:
    """A result's payload bitrate (:func:`bench.leaderboard.payload_bps`; imported late because
    the leaderboard imports this module)."""
    from bench.leaderboard import payload_bps as payload

    return payload(result)


#: Label offsets tried for each point of the rate–distortion plot, in typographic points from
#: the point, nearest first: a label sits next to its point when there is room and moves out
#: (with a leader line) only where points crowd, as the sub-1-kbps codecs do.
_LABEL_RADII_PT = (5.0, 11.0, 18.0, 27.0, 38.0, 50.0, 64.0, 80.0)
_LABEL_ANGLES_DEG = (30.0, -30.0, 0.0, 180.0, 150.0, -150.0, 90.0, -90.0, 60.0, -60.0, 120.0,
                     -120.0)  # fmt: skip
#: Beyond this offset a thin line joins a label to its point.
_LEADER_FROM_PT = 10.0
#: Clear space kept around each label (pixels), so neighbouring labels never read as one.
_LABEL_PAD_PX = 4.0


def _family_of(name: str) -> str:
    """A codec's family as its name's first word (``opus_cbr@6kbps`` → ``opus``): the plot
    colours by it without asking the registry (plots come from result files alone)."""
    import re

    return re.split(r"[@_]", name, maxsplit=1)[0] or name


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Area shared by two boxes ``(x0, y0, x1, y1)``."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _place_labels(
    ax: Any,
    points: list[tuple[float, float, float, float, str]],
    unlabelled: list[tuple[float, float, float, float, str]] | None = None,
) -> None:
    """Label every ``(x, y, ci_low, ci_high, name)`` point of ``ax`` (data coordinates; call
    after the figure's layout is final), greedily, crowded points first: each label takes the
    offset (:data:`_LABEL_RADII_PT` × :data:`_LABEL_ANGLES_DEG`) that covers the least of the
    other labels, points, CI bars and the legend, stays inside the axes, and is not far from
    its point — distance is charged so that a label moves out only as far as crowding needs.
    ``unlabelled`` points (drawn, labelled elsewhere) are only kept clear of."""
    import math

    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    px_per_pt = fig.dpi / 72.0
    frame = ax.get_window_extent(renderer)
    to_px = ax.transData.transform
    marks = []  # what a label must not cover: each marker and its CI bar, in pixels
    centres = []  # each marker's centre, in pixels
    for x, y, lo, hi, _ in [*points, *(unlabelled or [])]:
        cx, cy = to_px((x, y))
        centres.append((cx, cy))
        _, ylo = to_px((x, lo))
        _, yhi = to_px((x, hi))
        r = 4.0 * px_per_pt
        marks.append((cx - r, min(cy - r, ylo), cx + r, max(cy + r, yhi)))
    legend = ax.get_legend()
    fixed = [] if legend is None else [tuple(legend.get_window_extent(renderer).extents)]
    placed: list[tuple[float, float, float, float]] = []

    # Crowded points first: they have the fewest free places, so they choose before the rest.
    def crowding(i: int) -> int:
        return sum(_overlap(_grow(marks[i], 40.0 * px_per_pt), m) > 0 for m in marks)

    for i in sorted(range(len(points)), key=lambda i: (-crowding(i), points[i][0])):
        x, y, _, _, name = points[i]
        text = ax.text(0, 0, name, fontsize=7)
        bb = text.get_window_extent(renderer)
        text.remove()
        w, h = bb.width + 2 * _LABEL_PAD_PX, bb.height + 2 * _LABEL_PAD_PX
        cx, cy = to_px((x, y))
        best: tuple[float, float, float, str, str] | None = None
        for radius in _LABEL_RADII_PT:
            for angle in _LABEL_ANGLES_DEG:
                dx = radius * math.cos(math.radians(angle))
                dy = radius * math.sin(math.radians(angle))
                ha = "left" if dx > 0.5 else "right" if dx < -0.5 else "center"
                va = "bottom" if dy > 0.5 else "top" if dy < -0.5 else "center"
                ax0 = cx + dx * px_per_pt - {"left": 0, "center": w / 2, "right": w}[ha]
                ay0 = cy + dy * px_per_pt - {"bottom": 0, "center": h / 2, "top": h}[va]
                box = (ax0, ay0, ax0 + w, ay0 + h)
                cost = sum(_overlap(box, o) for o in [*placed, *fixed])
                cost += 1.5 * sum(_overlap(box, m) for j, m in enumerate(marks) if j != i)
                # a label about as near another point as its own would be read as that one's
                # (unless a leader line says whose it is)
                near = _distance((cx, cy), box) + 6.0 * px_per_pt
                cost += (
                    (radius <= _LEADER_FROM_PT)
                    * 150.0
                    * sum(_distance(c, box) < near for j, c in enumerate(centres) if j != i)
                )
                # its own marker and CI bar too, but without the padding (it may touch them)
                cost += 0.5 * _overlap(_grow(box, -_LABEL_PAD_PX), marks[i])
                inside = _overlap(box, (frame.x0, frame.y0, frame.x1, frame.y1))
                cost += 4.0 * (w * h - inside)  # outside the axes is worse than crowded
                # 5 pt costs 5 px² of overlap, 27 pt 146, 50 pt 500: a free spot ~40 pt away
                # beats covering half a label next to the point
                cost += 20.0 * (radius / 10.0) ** 2
                if best is None or cost < best[0]:
                    best = (cost, dx, dy, ha, va)
                    chosen = box
        assert best is not None
        _, dx, dy, ha, va = best
        placed.append(chosen)
        leader = math.hypot(dx, dy) > _LEADER_FROM_PT
        ax.annotate(
            name,
            (x, y),
            xytext=(dx, dy),
            textcoords="offset points",
            fontsize=7,
            ha=ha,
            va=va,
            arrowprops={"arrowstyle": "-", "lw": 0.7, "color": "0.3", "shrinkA": 0, "shrinkB": 3}
            if leader
            else None,  # fmt: skip
        )


def _distance(px: tuple[float, float], box: tuple[float, float, float, float]) -> float:
    """Pixels from a point to a box (0 inside it)."""
    dx = max(box[0] - px[0], 0.0, px[0] - box[2])
    dy = max(box[1] - px[1], 0.0, px[1] - box[3])
    return (dx * dx + dy * dy) ** 0.5


def _grow(box: tuple[float, float, float, float], by: float) -> tuple[float, float, float, float]:
    return (box[0] - by, box[1] - by, box[2] + by, box[3] + by)


#: Below this payload rate the project's own codecs and Codec 2 700C sit within a few pixels of
#: each other on a full-range axis; when at least :data:`ZOOM_MIN_POINTS` codecs are there, the
#: plot adds a row that shows only them, on axes fitted to them.
ZOOM_BELOW_BPS = 1000.0
ZOOM_MIN_POINTS = 3


def _draw_points(
    ax: Any,
    results: list[dict[str, Any]],
    comp: Comparison,
    metric: str,
    colours: dict[str, Any],
    keep: Any,
    legend: bool,
) -> list[tuple[float, float, float, float, str]]:
    """Each result whose payload bps passes ``keep`` as a point with its 95 % CI on ``ax``;
    returns ``(bps, mean, ci_low, ci_high, name)`` per point drawn."""
    points = []
    shown: set[str] = set()
    for r in results:
        s = comp.summary[r["codec"]["name"]].get(metric)
        bps = payload_bps(r)
        if not s or s.get("mean") is None or not bps or not keep(bps):
            continue
        ci = s.get("ci95") or [s["mean"], s["mean"]]
        family = _family_of(r["codec"]["name"])
        ax.errorbar(
            bps,
            s["mean"],
            yerr=[[s["mean"] - ci[0]], [ci[1] - s["mean"]]],
            fmt="o",
            markersize=5,
            capsize=3,
            color=colours[family],
            label=None if family in shown or not legend else family,
        )
        shown.add(family)
        points.append((bps, s["mean"], ci[0], ci[1], r["codec"]["name"]))
    return points


def plot_rate_distortion(results: list[dict[str, Any]], path: Path) -> None:
    """PESQ-WB and STOI against payload bitrate (log scale), on common utterances.

    Points are coloured by codec family (legend) and labelled by :func:`_place_labels`, which
    moves a label from its point (with a leader line) only as far as crowding needs. Where
    :data:`ZOOM_MIN_POINTS` or more codecs sit below :data:`ZOOM_BELOW_BPS`, the top row labels
    only the codecs above it and a second row zooms in on those below, so the crowded
    low-bitrate codecs each get a readable point and label."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    comp = compare(results)
    # a panel only for a metric the table scored (an empty axis would read as a result)
    metrics = [m for m in ("pesq_wb", "stoi") if comp.common.get(m)]
    low = [r for r in results if 0 < (payload_bps(r) or 0) < ZOOM_BELOW_BPS]
    zoom = bool(metrics) and len(low) >= ZOOM_MIN_POINTS
    panels = max(1, len(metrics))
    fig, grid = plt.subplots(
        2 if zoom else 1, panels, figsize=(6.4 * panels, 9.6 if zoom else 5.2), squeeze=False
    )
    if not metrics:
        grid[0][0].text(0.5, 0.5, "no PESQ-WB or STOI scored", ha="center", va="center")
        grid[0][0].set_axis_off()
    families = sorted({_family_of(r["codec"]["name"]) for r in results})
    colours = {f: plt.get_cmap("tab10")(i % 10) for i, f in enumerate(families)}
    ylabels = {"pesq_wb": "PESQ-WB (MOS-LQO)", "stoi": "STOI"}
    labels: list[tuple[Any, list[tuple[float, float, float, float, str]]]] = []
    avoid: dict[int, list[tuple[float, float, float, float, str]]] = {}
    for col, metric in enumerate(metrics):
        n = len(comp.common.get(metric, []))
        ax = grid[0][col]
        points = _draw_points(ax, results, comp, metric, colours, lambda b: True, legend=True)
        ax.set_ylabel(f"{ylabels[metric]}, n = {n}")
        if points:
            ax.legend(loc="lower right", fontsize=7, title="family", title_fontsize=7)
        if zoom:
            ax.axvspan(1.0, ZOOM_BELOW_BPS, color="0.93", zorder=0)  # xlim cuts it below
            avoid[id(ax)] = [p for p in points if p[0] < ZOOM_BELOW_BPS]  # labelled below
            points = [p for p in points if p[0] >= ZOOM_BELOW_BPS]
            zax = grid[1][col]
            zpoints = _draw_points(
                zax, results, comp, metric, colours, lambda b: b < ZOOM_BELOW_BPS, legend=False
            )
            zax.set_ylabel(f"{ylabels[metric]}, n = {n}")
            zax.set_title(
                f"below {ZOOM_BELOW_BPS:,.0f} bps (the shaded band above), zoomed", fontsize=9
            )
            labels.append((zax, zpoints))
        labels.append((ax, points))
    for ax in [a for row in grid for a in row][: len(metrics) * (2 if zoom else 1)]:
        ax.set_xscale("log")
        ax.set_xlabel("payload bitrate (bps)")
        ax.grid(True, alpha=0.3)
        ax.margins(x=0.12, y=0.1)  # room for the outermost points' labels inside the axes
    for ax in [a for row in grid for a in row][: len(metrics) * (2 if zoom else 1)]:
        # bitrates as plain numbers (600, 1000), not 6×10²; minor ticks are labelled where
        # the axis spans about a decade or less, as matplotlib's own log formatter decides
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:.0f}"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.LogFormatter(labelOnlyBase=False))
    if zoom:
        for ax in grid[0][: len(metrics)]:  # the band starts at the axis' left edge
            ax.set_xlim(left=min(payload_bps(r) or ZOOM_BELOW_BPS for r in low) / 1.5)
    ds = results[0]["dataset"]
    fig.suptitle(f"{ds['name']} ({ds['num_utterances']} utterances), mean ± 95 % CI")
    fig.tight_layout()
    for ax, points in labels:  # after the layout: placement works in the final pixels
        _place_labels(ax, points, avoid.get(id(ax), []))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)
