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

from bench.compare import MIN_COVERAGE, Comparison, compare
from bench.plots import plot_rate_distortion
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


#: Figures papers report (never measured here), one table per source: rendered below the measured
#: tables, each labelled *reported*. Data, not code: the harness names no model or paper itself.
REPORTED_FILE = Path(__file__).resolve().parents[1] / "results" / "reported.json"


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
        if not comp.compared(name):
            continue  # left out of every metric: its own row in left_out_table
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


def left_out_table(results: list[dict[str, Any]], comp: Comparison) -> str:
    """Markdown table of the codecs left out of some metric's comparison
    (:data:`bench.compare.MIN_COVERAGE`): one row each, every left-out metric as its own mean ±
    CI over its own utterances with that n; "" when none was left out (scored-nothing codecs are
    listed by :func:`render`, not here)."""
    from tabulate import tabulate

    rows = []
    for r in sorted(results, key=lambda r: (payload_bps(r) or 0.0, r["codec"]["name"])):
        name = r["codec"]["name"]
        out = comp.left_out.get(name)
        if not out or name in comp.scored_nothing:
            continue
        bps = payload_bps(r)
        cells = [
            f"{_fmt(out[m].summary, _digits(m))} (n={out[m].n} of {out[m].of})" if m in out else ""
            for m in comp.metrics
        ]
        counts = r["counts"]
        failed = counts["failed"] + counts["partial"]
        rows.append([name, f"{bps:.0f}" if bps else "—", *cells, f"{counts['ok']} / {failed}"])
    if not rows:
        return ""
    labels = {}
    for r in results:
        for m, d in r["metrics"].items():
            labels.setdefault(m, d["label"])
    headers = ["codec (left out)", "payload bps", *[labels[m] for m in comp.metrics], "ok / failed"]
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def _reported_cell(v: Any) -> str:
    """A reported figure as its source gives it: a number (2 decimals), or a named value
    (``{"metric": "UTMOS", "value": 4.23}`` → ``UTMOS 4.23``; a WER → ``5.12 %``)."""
    if v is None:
        return "—"
    if isinstance(v, dict):
        unit = f" {v['unit']}" if v.get("unit") else ""
        name = v.get("metric") or ("dWER" if "dWER" in str(v.get("kind", "")) else "")
        return f"{name} {v['value']:.2f}{unit}".strip()
    return f"{v:.2f}"


def _differs(rows: Any) -> str:
    """What differs from this harness's protocol for the rows of one source: the points they all
    share, then the points particular to a row, named by its codec."""
    rows = list(rows)
    points = [[x.strip() for x in (r.get("differs") or "not stated").split(";")] for r in rows]
    common = [x for x in points[0] if all(x in p for p in points[1:])]
    own = [
        f"{r['codec']}: {'; '.join(x for x in p if x not in common)}"
        for r, p in zip(rows, points, strict=True)
        if any(x not in common for x in p)
    ]
    return "differs: " + "; ".join(common) + (f". Per row — {'. '.join(own)}." if own else ".")


def reported_sections(path: Path = REPORTED_FILE) -> list[str]:
    """Every table of ``path`` (see :data:`REPORTED_FILE`) as markdown, apart from the measured
    ones: title, what it is, the rows, and — where rows cite sources — a numbered source list
    saying what differs from this harness's protocol. Empty when the file is absent."""
    from tabulate import tabulate

    if not path.exists():
        return []
    out: list[str] = []
    for table in json.loads(path.read_text())["tables"]:
        cols = table["columns"]
        cited = [r["source"] for r in table["rows"] if "source" in r]
        sources = list(dict.fromkeys(cited))  # one note per source, in order of first citation
        rows = [
            [r["codec"], r["bps"], *[_reported_cell(r.get(k)) for k, _ in cols]]
            + ([f"[{sources.index(r['source']) + 1}]"] if sources else [])
            for r in table["rows"]
        ]
        headers = ["codec", "bps", *[h for _, h in cols]] + (["source"] if sources else [])
        out += [f"## {table['title']}", "", table["intro"], ""]
        out.append(tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True))
        out.append("")
        for i, src in enumerate(sources, 1):
            out += [f"{i}. {src}: {_differs(r for r in table['rows'] if r.get('source') == src)}"]
        out += [""] if sources else []
    return out


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
        if m not in comp.summary[a["codec"]["name"]] or m not in comp.summary[b["codec"]["name"]]:
            continue  # one of the two is left out of this metric's comparison
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


def render_speed(files: list[dict[str, Any]], source: str = "results/") -> list[str]:
    """The speed table: every ``bench throughput`` row of the quiet-core runs, with its source
    (``source``: the results folder as :func:`source_label` names it)."""
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
            f"From `{source}perf/{f['file']}` — {prov.get('device', '?')}, commit "
            f"{commit[:10]}{dirty}, {prov.get('date', '?')[:10]}:",
            "",
            throughput_table(f["rows"]),
            "",
        ]
    return lines


def source_label(results_dir: Path) -> str:
    """How a board names the folder it was made from: relative to the repository when inside it
    (``results/``, ``results/local/``), else the folder as given; always ending in ``/``."""
    from bench.results import REPO_ROOT

    path = Path(results_dir)
    try:
        text = path.resolve().relative_to(REPO_ROOT.resolve()).as_posix()
    except ValueError:
        text = str(path)
    return text.rstrip("/") + "/"


def render(
    results: list[dict[str, Any]],
    plot_names: dict[str, str],
    speed: list[dict[str, Any]] | None = None,
    source: str = "results/",
) -> str:
    """The whole LEADERBOARD.md text (``speed``: :func:`load_speed` files for the speed table;
    ``source``: the results folder it is made from, as :func:`source_label` names it)."""
    speed_section = render_speed(speed or [], source)
    by_ds: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        by_ds.setdefault(r["dataset"]["slug"], []).append(r)
    lines = [
        "# Leaderboard",
        "",
        f"Generated by `python -m bench leaderboard` from the result files in `{source}`; do "
        "not edit by hand. Within a dataset every codec is scored on the same utterances: each "
        "metric's mean ± half-width of its 95 % BCa bootstrap CI covers the utterances that "
        "*every* codec of the table scored for that metric (n in the column header). A codec "
        f"that scored fewer than {MIN_COVERAGE * 100:g} % of the utterances the best-covered codec "
        "scored for a metric is left out of that metric's comparison and shown on its own row "
        "below the table with its own n; one that scored nothing is listed with its reasons. "
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
        left = left_out_table(rs, comp)
        if left:
            lines += [
                f"Left out of the comparison (scored fewer than {MIN_COVERAGE * 100:g} % of the "
                "utterances the best-covered codec scored for the metric; its own mean ± CI on "
                "its own n utterances, not comparable with the rows above):",
                "",
                left,
                "",
            ]
        for name in sorted(comp.failures):
            reasons = comp.failures[name]
            text = "; ".join(f"{n} × {why}" for why, n in reasons.most_common(4))
            if name in comp.scored_nothing:
                lines.append(f"- ✗ `{name}` scored no utterance, left out: {text or 'no records'}")
            elif reasons:
                lines.append(f"- † `{name}`: {text}")
        if any(comp.failures.values()) or comp.scored_nothing:
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
    lines += reported_sections()
    return "\n".join(lines)


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
    text = render(results, plots, load_speed(results_dir), source_label(results_dir))
    atomic_write_text(md, text)
    written.insert(0, md)
    return written
