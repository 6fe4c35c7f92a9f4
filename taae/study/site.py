"""The ablation studies as pages of ``bench report``, contributed through the report's plugin door
(entry point ``bench.report_pages`` → :func:`report_pages`), so ``bench`` never imports ``taae``.

Each ``results/ablation*`` folder with a generated ``ABLATION.md`` becomes
``<out>/<folder>/index.html``: the document (tables sortable, plots) plus listening rows — each
variant's lowest-seed checkpoint re-decoded through the same registry roundtrip its result files
scored.
"""

from __future__ import annotations

import html
import json
import os
import shutil
from pathlib import Path
from typing import Any

from bench.report import (
    ReportContext,
    ReportSection,
    decode_examples,
    example_ids,
    examples_html,
    page,
)
from bench.results import REPO_ROOT, atomic_write_text


def report_pages(ctx: ReportContext) -> list[ReportSection]:
    """One page per ablation study under ``ctx.results_dir``; the index section linking them."""
    studies = ablation_folders(ctx.results_dir)
    for folder in studies:
        ablation_page(folder, ctx.out, ctx.examples, ctx.device, ctx.footer)
    if not studies:
        return []
    return [ReportSection("Ablation studies", [(f"{f.name}/index.html", f.name) for f in studies])]


def ablation_folders(results_dir: Path) -> list[Path]:
    """``results/ablation*`` folders holding a generated ``ABLATION.md`` and its ``study.json``."""
    return sorted(
        p
        for p in results_dir.glob("ablation*")
        if (p / "ABLATION.md").is_file() and (p / "study.json").is_file()
    )


def listening_rows(
    folder: Path, study: dict[str, Any], sub: Path, examples: int, device: str
) -> str:
    """Listening rows of an ablation study: each variant's lowest-seed checkpoint (from the
    study's runs folder, else the shipped ``checkpoints/``) on ``examples`` utterances of its
    main evaluation set, through the same registry roundtrip its result files scored."""
    from taae.codec import CHECKPOINT_ENV, _entries, ablation_codec_name, ablation_preset

    seed = min(study["seeds"])
    variants = list(study["codecs"])
    presets = {v: ablation_preset(v, study["bps"], study["scale"]) for v in variants}
    names = {v: ablation_codec_name(v, study["bps"], study["scale"]) for v in variants}
    entries = _entries()
    if any(entries.get(names[v], ("",))[0] != presets[v] for v in variants):
        return (
            "<p>No listening rows: the registry no longer maps these variants to their presets.</p>"
        )
    root = REPO_ROOT / study["runs_root"] / f"seed{seed}" / "checkpoints"
    if not all((root / p).is_dir() for p in presets.values()):
        root = REPO_ROOT / "checkpoints"  # the shipped lowest-seed weights (`taae ablate --ship`)
    missing = [p for p in presets.values() if not (root / p).is_dir()]
    if missing:
        return (
            f"<p>No listening rows: seed-{seed} checkpoints not found ({', '.join(missing)}).</p>"
        )
    by_slug: dict[str, list[dict[str, Any]]] = {}
    for path in sorted((folder / f"seed{seed}").glob("*/*.json")):
        res = json.loads(path.read_text())
        by_slug.setdefault(res["dataset"]["slug"], []).append(res)
    slug = next((s for s in ("librispeech-test-clean-122", "default") if s in by_slug), None)
    if slug is None:
        return "<p>No listening rows: no result files on a dataset present here.</p>"
    ids = example_ids(by_slug[slug], examples)
    labels = {f"{v} (seed {seed})": names[v] for v in variants}
    saved = os.environ.get(CHECKPOINT_ENV)
    os.environ[CHECKPOINT_ENV] = str(root)
    try:
        clips = decode_examples(by_slug[slug][0]["dataset"], ids, sub, device, labels)
    finally:
        if saved is None:
            os.environ.pop(CHECKPOINT_ENV, None)
        else:
            os.environ[CHECKPOINT_ENV] = saved
    return (
        f"<h2>Listening examples ({html.escape(slug)}, seed {seed})</h2><p>Each variant's "
        f"seed-{seed} checkpoint, re-decoded through the registry roundtrip its result files "
        "scored, stored as 16-bit FLAC, with log-mel spectrograms.</p>"
        + examples_html(clips, list(labels))
    )


def ablation_page(folder: Path, out: Path, examples: int, device: str, foot: str) -> Path:
    """``out/<folder name>/index.html``: the study's ``ABLATION.md`` (tables sortable, plots,
    verdicts, training curves) plus listening rows per variant."""
    from markdown_it import MarkdownIt

    study = json.loads((folder / "study.json").read_text())
    sub = out / folder.name
    sub.mkdir(parents=True)
    if (folder / "plots").is_dir():
        shutil.copytree(folder / "plots", sub / "plots")
    text = (folder / "ABLATION.md").read_text()
    title = text.splitlines()[0].lstrip("# ").strip()
    body = MarkdownIt("commonmark").enable("table").render(text.split("\n", 1)[1])
    body = body.replace("<table>", '<table class="sortable">')
    listen = listening_rows(folder, study, sub, examples, device) if examples > 0 else ""
    page_path = sub / "index.html"
    atomic_write_text(
        page_path,
        page(
            f"{title} — {study['scale']} {study['bps']} bps, {study['steps']} steps",
            '<p><a href="../index.html">← leaderboard</a></p>' + listen + body,
            foot,
        ),
    )
    return page_path
