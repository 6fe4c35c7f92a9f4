"""``results/LEADERBOARD.md`` and the rate–distortion plot, generated only from result files.

One table per dataset, one row per codec; every metric as mean ± half-width of its 95 % BCa CI
over the utterances that every codec of the table scored (:mod:`bench.compare`), with that ``n`` in
the column header and each codec's failures counted with their reasons. Bitrate is the payload
rate for every codec. Codecs flagged test-only (random init) are never shown. Paper-reported
figures live in a separate table labelled *reported*.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.compare import Comparison, compare
from bench.results import atomic_write_text, find_results, load_result

#: One bit account for every codec (printed once above the tables).
PAYLOAD_DEFINITION = (
    "*payload bps* is one bit account for every codec: the codec's own payload bytes actually "
    "produced per second of audio for byte-stream codecs (Opus audio packets without the Ogg "
    "container, Codec 2 bit-packed frames, Lyra packets), and frame_rate × Σ log2(codebook "
    "size) for fixed-length token codecs; *entropy bps* is frame_rate × the plug-in entropy of "
    "whole frames (what an ideal entropy coder of i.i.d. frames would need; biased low when "
    "frames are few)."
)


def payload_bps(result: dict[str, Any]) -> float | None:
    """The payload bitrate of a result (``None`` for codecs without a bitstream)."""
    b = result["bitrate"]
    if b.get("payload_bps") is not None:
        return float(b["payload_bps"])
    if b.get("bytes_bps") is not None:  # result files older than the payload account
        return float(b["bytes_bps"])
    return float(b["nominal_bps"]) if b.get("nominal_bps") else None


#: Figures reported by the TAAE paper on LibriSpeech test-clean (Parker et al. 2024, Table 2 as
#: quoted in DESIGN.md §2). Never mixed with measured rows.
REPORTED: list[dict[str, Any]] = [
    {"codec": "TAAE", "bps": 700, "sisdr": 4.73, "mel": 0.86, "stft": 1.26, "pesq_wb": 3.09,
     "stoi": 0.92},
    {"codec": "TAAE", "bps": 400, "sisdr": 3.18, "mel": 0.97, "pesq_wb": 2.96, "stoi": 0.90},
    {"codec": "Mimi", "bps": 1100, "sisdr": 2.20, "pesq_wb": 3.01, "stoi": 0.90},
    {"codec": "EnCodec", "bps": 3000, "mel": 0.95, "pesq_wb": 2.84, "stoi": 0.90},
    {"codec": "DAC", "bps": 1000, "sisdr": -6.51, "pesq_wb": 1.64},
]  # fmt: skip
REPORTED_COLUMNS = ("sisdr", "mel", "stft", "pesq_wb", "stoi")


def _fmt(summary: dict[str, Any] | None, digits: int) -> str:
    if not summary or summary.get("mean") is None:
        return "—"
    mean = summary["mean"]
    ci = summary.get("ci95")
    if ci is None:
        return f"{mean:.{digits}f}"
    half = (ci[1] - ci[0]) / 2
    return f"{mean:.{digits}f} ± {half:.{digits}f}"


def _digits(metric: str) -> int:
    return {"sisdr": 1, "stoi": 3}.get(metric, 2)


#: Folders under results/ that hold other things than leaderboard result files (an ablation study
#: may live in any ``ablation*`` folder, e.g. ``results/ablation_tinyspec``).
NOT_RESULT_FOLDERS = ("check", "ablation", "perf", "report", "plots")


def is_result_folder(name: str) -> bool:
    """Whether ``results/<name>/`` holds leaderboard result files (not baselines, ablation
    bookkeeping, reports or unmerged shards)."""
    if name in NOT_RESULT_FOLDERS or name.startswith("ablation"):
        return False
    return "-shard" not in name


def load_visible(results_dir: Path) -> list[dict[str, Any]]:
    """Result files that belong on the leaderboard (test-only / random-init codecs excluded)."""
    out = []
    for path in find_results(results_dir):
        if not is_result_folder(path.parent.name):
            continue  # baselines, ablation bookkeeping and unmerged shards are not leaderboard rows
        try:
            res = load_result(path)
        except (ValueError, OSError) as exc:
            raise ValueError(
                f"corrupt result file {path}: {type(exc).__name__}: {exc} — delete it or rerun "
                "its `bench run`"
            ) from exc
        if not res["codec"].get("pretrained", True) or res["codec"].get("test_only"):
            continue
        res["_path"] = path
        out.append(res)
    return out


def dataset_table(results: list[dict[str, Any]], comp: Comparison | None = None) -> str:
    """Markdown table for results on one dataset on common utterances, sorted by payload bps."""
    from tabulate import tabulate

    comp = comp or compare(results)
    labels: dict[str, str] = {}
    for r in results:
        for m, d in r["metrics"].items():
            if m not in labels:
                arrow = "↑" if d["higher_is_better"] else "↓"
                unit = f" ({d['unit']})" if d["unit"] else ""
                labels[m] = f"{d['label']}{unit} {arrow} n={len(comp.common[m])}"
    rows = []
    for r in sorted(results, key=lambda r: (payload_bps(r) or 0.0, r["codec"]["name"])):
        name = r["codec"]["name"]
        bps = payload_bps(r)
        cb = r.get("codebook") or {}
        ent = cb.get("frame_entropy_bps", cb.get("entropy_bps"))
        flags = "".join(
            [" (collapsed)" if cb.get("collapsed") else "", "*" if cb.get("undersampled") else ""]
        )
        counts = r["counts"]
        failed = counts["failed"] + counts["partial"]
        summ = comp.summary[name]
        rows.append(
            [
                f"{name} †" if failed else name,
                f"{bps:.0f}" if bps else "—",
                f"{ent:.0f}{flags}" if ent is not None else "—",
                *[_fmt(summ.get(m), _digits(m)) for m in comp.metrics],
                f"{cb['mean_used_fraction']:.1%}" if cb.get("mean_used_fraction") else "—",
                f"{counts['ok']} / {failed}",
            ]
        )
    headers = [
        "codec",
        "payload bps",
        "entropy bps",
        *[labels[m] for m in comp.metrics],
        "codebook used",
        "ok / failed",
    ]
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def reported_table() -> str:
    from tabulate import tabulate

    def cell(v: float | None) -> str:
        return "—" if v is None else f"{v:.2f}"

    rows = [[r["codec"], r["bps"], *[cell(r.get(c)) for c in REPORTED_COLUMNS]] for r in REPORTED]
    return tabulate(
        rows,
        headers=["codec", "bps", "SI-SDR", "Mel", "STFT", "PESQ-WB", "STOI"],
        tablefmt="github",
        disable_numparse=True,
    )


#: Pairs the leaderboard tests head to head wherever both codecs have results on a dataset:
#: the mission's FSQ vs RVQ, each TAAE against Codec 2 at ≈ 700 bps, each shipped TAAE against
#: itself before the adversarial stage (issue #24), the CPU recipe against the paper-faithful tiny
#: model, and Lyra 3.2 kbps against Opus 6 kbps.
PAIRS: tuple[tuple[str, str], ...] = (
    ("taae_fsq", "taae_rvq"),
    ("taae_fsq", "codec2@700"),
    ("taae_rvq", "codec2@700"),
    ("taae_fsq", "taae_fsq_recon"),
    ("taae_rvq", "taae_rvq_recon"),
    ("taae_fsq", "taae_tiny_fsq"),
    ("lyra@3.2kbps", "opus@6kbps"),
)
PAIR_ALPHA = 0.05


def paired_rows(a: dict[str, Any], b: dict[str, Any], comp: Comparison) -> list[dict[str, Any]]:
    """``a`` − ``b`` per metric on the comparison's common utterances: mean difference, BCa
    CI, sign-flip p (``bench.stats.paired_test``), Holm over the pair's metrics. For a weighted
    metric (WER) the test runs on per-utterance error counts (rate × words / 100), so long
    utterances weigh what they weigh in the corpus rate."""
    from bench.compare import weights
    from bench.metrics import get_metric
    from bench.stats import holm, paired_test

    rows = []
    for m in comp.metrics:
        if m not in a["metrics"] or m not in b["metrics"] or not comp.common.get(m):
            continue
        va, vb = comp.values(a, m), comp.values(b, m)
        unit = ""
        if (a["metrics"][m] or {}).get("weighted"):
            w = weights(a, m)
            words = [w[i] for i in comp.common[m]]
            va = [x * n / 100.0 for x, n in zip(va, words, strict=True)]
            vb = [x * n / 100.0 for x, n in zip(vb, words, strict=True)]
            unit = " errors / utt."
        res = paired_test(va, vb)
        rows.append({"metric": m, "unit": unit, "higher": get_metric(m).higher_is_better, **res})
    for row, rej in zip(rows, holm([r["p_value"] for r in rows], PAIR_ALPHA), strict=True):
        row["significant"] = rej
    return rows


def paired_section(results: list[dict[str, Any]], comp: Comparison) -> list[str]:
    """Markdown lines: the :data:`PAIRS` present in this dataset, tested head to head."""
    from bench.metrics import get_metric
    from bench.stats import format_p

    by_name = {r["codec"]["name"]: r for r in results}
    pairs = [(x, y) for x, y in PAIRS if x in by_name and y in by_name]
    if not pairs:
        return []
    lines = [
        "Paired comparisons (same utterances; mean difference A − B with its 95 % BCa CI; "
        "sign-flip permutation test, exact up to 17 utterances, else 20,000 Monte-Carlo "
        "resamples, p never printed below the design's floor; *significant* after Holm over "
        f"the pair's metrics at α = {PAIR_ALPHA}; WER is tested on per-utterance error counts):",
        "",
        "| A − B | metric | n | mean diff | 95 % CI | p | better |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for x, y in pairs:
        for row in paired_rows(by_name[x], by_name[y], comp):
            m, d, ci = row["metric"], row["mean_diff"], row["ci95"]
            digits = _digits(m) + 1
            if d is None:
                continue
            winner = (x if (d > 0) == row["higher"] else y) if row["significant"] else "n.s."
            cis = "—" if not ci else f"[{ci[0]:+.{digits}f}, {ci[1]:+.{digits}f}]"
            lines.append(
                f"| `{x}` − `{y}` | {get_metric(m).label}{row['unit']} | {row['n']} | "
                f"{d:+.{digits}f} | {cis} | {format_p(row['p_value'], row['p_min'])} | "
                f"{winner if winner == 'n.s.' else f'`{winner}`'} |"
            )
    return [*lines, ""]


def load_speed(results_dir: Path) -> list[dict[str, Any]]:
    """``results/perf/throughput*.json`` written by ``bench throughput --out`` (rows + provenance);
    files in other shapes are skipped."""
    out = []
    for path in sorted((results_dir / "perf").glob("throughput*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("rows"), list) and "provenance" in data:
            out.append({"file": path.name, **data})
    return out


def render_speed(files: list[dict[str, Any]]) -> list[str]:
    """The speed table: every ``bench throughput`` row of the quiet-core runs, with its source."""
    if not files:
        return []
    from bench.throughput import throughput_table

    lines = [
        "## Speed (`python -m bench throughput`, nothing else on the cores)",
        "",
        "Encode / decode × real time (audio seconds per wall-clock second; median of the timed "
        "repeats after a warm-up, slowest–fastest repeat in brackets) on batches of real-speech "
        "items, including resampling and host→device copies; peak memory is the process peak RSS "
        "on CPU (libraries and models included) and `torch.cuda.max_memory_allocated` on GPU.",
        "",
    ]
    for f in files:
        prov = f["provenance"]
        commit = (prov.get("git") or {}).get("commit") or "unknown"
        dirty = " (dirty tree)" if (prov.get("git") or {}).get("dirty") else ""
        lines += [
            f"From `results/perf/{f['file']}` — {prov.get('device', '?')}, commit "
            f"{commit[:10]}{dirty}, {prov.get('date', '?')[:10]}:",
            "",
            throughput_table(f["rows"]),
            "",
        ]
    return lines


def render(
    results: list[dict[str, Any]],
    plot_names: dict[str, str],
    speed: list[dict[str, Any]] | None = None,
) -> str:
    """The whole LEADERBOARD.md text (``speed``: :func:`load_speed` files for the speed table)."""
    speed_section = render_speed(speed or [])
    by_ds: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        by_ds.setdefault(r["dataset"]["slug"], []).append(r)
    lines = [
        "# Leaderboard",
        "",
        "Generated by `python -m bench leaderboard` from the result files in `results/`; do not "
        "edit by hand. Within a dataset every codec is scored on the same utterances: each "
        "metric's mean ± half-width of its 95 % BCa bootstrap CI covers the utterances that "
        "*every* codec of the table scored for that metric (n in the column header). "
        + PAYLOAD_DEFINITION
        + " *codebook used* is the mean fraction of codebook entries seen. *ok / failed* counts "
        "utterances; failed and partial ones are never scored, and a codec with any is marked † "
        "with its reasons below the table. Speed is not in these tables (a run times codecs while "
        "metric workers share the CPU) but in its own section below, from "
        "`python -m bench throughput` with nothing else on the cores. Metric definitions: "
        "README.md.",
        "",
    ]
    for slug in sorted(by_ds):
        rs = by_ds[slug]
        comp = compare(rs)
        ds = rs[0]["dataset"]
        devices = sorted({r["provenance"]["device"] for r in rs})
        commits = sorted({(r["provenance"]["git"].get("commit") or "unknown")[:10] for r in rs})
        lines += [
            f"## {ds['name']} — {ds['num_utterances']} utterances (`{slug}`)",
            "",
            f"Source: `{ds['source']}`; ids sha256 `{ds['ids_sha256'][:16]}`; "
            f"device: {', '.join(devices)}; commits: {', '.join(commits)}.",
            "",
            dataset_table(rs, comp),
            "",
        ]
        for name in sorted(comp.failures):
            reasons = comp.failures[name]
            if reasons:
                text = "; ".join(f"{n} × {why}" for why, n in reasons.most_common(4))
                lines.append(f"- † `{name}`: {text}")
        if any(comp.failures.values()):
            lines.append("")
        lines += paired_section(rs, comp)
        by_text: dict[str, list[str]] = {}
        for r in sorted(rs, key=lambda r: r["codec"]["name"]):
            if r["codec"].get("caveat"):
                by_text.setdefault(r["codec"]["caveat"], []).append(r["codec"]["name"])
        notes = [
            f"- {', '.join(f'`{n}`' for n in names)}: {text}." for text, names in by_text.items()
        ]
        if any((r.get("codebook") or {}).get("undersampled") for r in rs):
            notes.append(
                "- `*` fewer than 10 frames per codebook entry were seen: the plug-in entropy "
                "bitrate is biased low (at most log2(frames) bits per frame); the marginal "
                "entropies in the result file (per FSQ dimension / RVQ stage) are the reliable "
                "statistic."
            )
        if any((r.get("codebook") or {}).get("collapsed") for r in rs):
            notes.append(
                "- *(collapsed)*: fewer than 10 % of min(frames seen, codes possible) distinct "
                "frame codes — the codec repeats a few codes, which more data would not fix."
            )
        if notes:
            lines += [*notes, ""]
        if slug in plot_names:
            lines += [f"![rate–distortion on {slug}]({plot_names[slug]})", ""]
    lines += speed_section
    lines += [
        "## Reported by the TAAE paper (not measured here)",
        "",
        "Figures quoted from Parker et al. 2024 (LibriSpeech test-clean, their setup) for "
        "orientation only; they were not produced by this harness (their metric settings, e.g. "
        "Mel/STFT resolutions, may differ) and are not comparable row by row with the measured "
        "tables above.",
        "",
        reported_table(),
        "",
    ]
    return "\n".join(lines)


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


def write_leaderboard(results_dir: Path) -> list[Path]:
    """Regenerate ``LEADERBOARD.md`` (+ one plot per dataset); returns the written paths."""
    results = load_visible(results_dir)
    written = []
    plots: dict[str, str] = {}
    by_ds: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        by_ds.setdefault(r["dataset"]["slug"], []).append(r)
    for slug, rs in by_ds.items():
        if any((payload_bps(r) or 0) > 0 for r in rs):
            p = results_dir / "plots" / f"rate_distortion_{slug}.png"
            plot_rate_distortion(rs, p)
            plots[slug] = str(p.relative_to(results_dir))
            written.append(p)
    md = results_dir / "LEADERBOARD.md"
    atomic_write_text(md, render(results, plots, load_speed(results_dir)))
    written.insert(0, md)
    return written
