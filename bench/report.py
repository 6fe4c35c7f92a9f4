"""``python -m bench report``: a static HTML site a person can read and listen to.

Everything comes from the committed result files plus deterministic re-decoding: for N fixed
utterances (the first N by SHA-256 of the id, one per speaker first, so they span speakers) every
codec of the table runs through the same :meth:`Codec.roundtrip` the metrics scored, and the
decoded audio is written beside the page as 16-bit FLAC (lossless: what you hear is what was
scored, to 1/32768; ``tests/test_report.py`` checks a saved clip against the scored audio), with a
log-mel spectrogram PNG per clip. The site is not committed: ``make report`` rebuilds it.
No CDN, no network at view time: one HTML file per page, one CSS block, a few lines of inline JS
for sorting and for the listening rows' A/B picker (each row shows the reference plus the two
codecs picked above the rows; every codec's clips stay in ``media/`` and a player gets its source
only when its codec is picked, so the page never loads all clips at once). Media file names are
``<utterance hash>-<readable slug>-<8 hex of the exact codec label>``: distinct labels never
share a file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.compare import compare
from bench.leaderboard import load_visible, payload_bps
from bench.plots import plot_rate_distortion
from bench.results import atomic_write_text, git_info, package_versions

CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px;color:#222}
table{border-collapse:collapse;font-size:13px;margin:1em 0}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}
th{background:#f0f0f0;cursor:pointer;user-select:none}
td:first-child,th:first-child{text-align:left}
th.sorted-asc::after{content:" ▲"} th.sorted-desc::after{content:" ▼"}
.ex td,.ex th{vertical-align:top;text-align:center} .ex img{width:220px;display:block}
audio{width:220px} footer{margin-top:3em;font-size:12px;color:#555}
.ab{margin:.5em 0} .ab label{margin-right:1.5em;font-weight:600} .ab select{font-size:14px}
"""
JS = """
document.querySelectorAll('table.sortable').forEach(function(t){
  t.querySelectorAll('th').forEach(function(th,i){
    th.addEventListener('click',function(){
      var rows=Array.from(t.tBodies[0].rows);
      var asc=!th.classList.contains('sorted-asc');
      t.querySelectorAll('th').forEach(function(h){h.classList.remove('sorted-asc','sorted-desc')});
      th.classList.add(asc?'sorted-asc':'sorted-desc');
      rows.sort(function(a,b){
        var x=a.cells[i].dataset.v??a.cells[i].textContent;
        var y=b.cells[i].dataset.v??b.cells[i].textContent;
        var fx=parseFloat(x), fy=parseFloat(y);
        var c=(!isNaN(fx)&&!isNaN(fy))?fx-fy:String(x).localeCompare(String(y));
        return asc?c:-c;});
      rows.forEach(function(r){t.tBodies[0].appendChild(r)});
    });
  });
});
function abFill(td,name,clip){
  td.dataset.codec=name;
  if(!clip){td.replaceChildren('—');return;}
  var a=document.createElement('audio');
  a.controls=true; a.preload='metadata'; a.src=clip[0];
  a.setAttribute('aria-label',name+', '+td.parentNode.cells[0].textContent);
  var img=document.createElement('img');
  img.alt='log-mel spectrogram, '+name; img.src=clip[1];
  td.replaceChildren(a,img);
}
document.querySelectorAll('div.listen').forEach(function(box){
  box.querySelectorAll('select.ab-pick').forEach(function(sel){
    var side=sel.dataset.side;
    function show(){
      box.querySelector('thead th.ab-'+side).textContent=side.toUpperCase()+': '+sel.value;
      box.querySelectorAll('tbody tr').forEach(function(tr){
        var td=tr.querySelector('td.ab-'+side);
        if(td.dataset.codec!==sel.value)
          abFill(td,sel.value,JSON.parse(tr.dataset.clips)[sel.value]);
      });
    }
    sel.addEventListener('change',show);
    show();  // a reload may restore a pick other than the rendered default
  });
});
"""
#: The pair the listening picker opens on where a dataset has both: the comparison the board is
#: about — the project's shipped FSQ model against Codec 2 700C at about the same rate (613 vs
#: 705 payload bps). ``bench report --pair A,B`` picks another; any two stay selectable.
DEFAULT_PAIR = ("taae_fsq", "codec2@700")
ATTRIBUTION = (
    "Audio: LibriSpeech test-clean (CC BY 4.0, Panayotov et al. 2015, from LibriVox "
    "recordings); the embedded default set per bench/data/default/ATTRIBUTION.md. Models: Lyra v2 "
    "(Google, Apache-2.0); Codec 2 (LGPL-2.1, via pycodec2); Opus (BSD, via libsndfile); "
    "TAAE checkpoints trained by this project (see their MODEL_CARD.md)."
)


def example_ids(results: list[dict[str, Any]], count: int) -> list[str]:
    """``count`` utterance ids every codec scored, chosen by id hash, one per speaker first."""
    comp = compare(results)
    common = comp.common.get("pesq_wb") or next(iter(comp.common.values()), [])
    ranked = sorted(common, key=lambda i: hashlib.sha256(i.encode()).hexdigest())
    chosen: list[str] = []
    speakers: set[str] = set()
    for uid in ranked:  # one per speaker (LibriSpeech ids start with the speaker)
        spk = uid.split("-")[0]
        if spk not in speakers:
            chosen.append(uid)
            speakers.add(spk)
        if len(chosen) == count:
            return chosen
    return (chosen + [u for u in ranked if u not in chosen])[:count]


def _cell(value: str, sort_value: Any) -> str:
    return f'<td data-v="{html.escape(str(sort_value))}">{html.escape(value)}</td>'


def _card_link(result: dict[str, Any], out: Path | None) -> str:
    """`` (model card)`` link for a codec whose checkpoint folder holds a MODEL_CARD.md."""
    import os

    from bench.results import REPO_ROOT

    ckpt = result["codec"].get("checkpoint")
    if not ckpt or out is None:
        return ""
    card = REPO_ROOT / ckpt / "MODEL_CARD.md"
    if not card.is_file():
        return ""
    href = os.path.relpath(card, out.resolve())
    return f' <a href="{html.escape(href)}">model card</a>'


def table_html(results: list[dict[str, Any]], out: Path | None = None) -> str:
    """Sortable leaderboard table on common utterances (same numbers as LEADERBOARD.md)."""
    comp = compare(results)
    heads = ["codec", "payload bps"]
    for m in comp.metrics:
        d = results[0]["metrics"].get(m) or next(
            r["metrics"][m] for r in results if m in r["metrics"]
        )
        arrow = "↑" if d["higher_is_better"] else "↓"
        heads.append(f"{d['label']} {arrow} (n={len(comp.common[m])})")
    heads += ["ok", "failed"]
    rows = []
    for r in sorted(results, key=lambda r: payload_bps(r) or 0.0):
        name = r["codec"]["name"]
        bps = payload_bps(r)
        first = f'<td data-v="{html.escape(name)}">{html.escape(name)}{_card_link(r, out)}</td>'
        cells = [first, _cell(f"{bps:.0f}" if bps else "—", bps or 0)]
        for m in comp.metrics:
            s = comp.summary[name].get(m) or {}
            lo = comp.left_out.get(name, {}).get(m)
            if lo is not None:  # too few utterances to compare: say so, never a silent blank
                own = lo.summary.get("mean")
                text = f"left out: n={lo.n} of {lo.of}" + (
                    f" ({own:.3f})" if own is not None else ""
                )
                cells.append(_cell(text, ""))
                continue
            if s.get("mean") is None:
                cells.append(_cell("—", ""))
                continue
            ci = s.get("ci95") or [s["mean"], s["mean"]]
            cells.append(_cell(f"{s['mean']:.3f} ± {(ci[1] - ci[0]) / 2:.3f}", s["mean"]))
        c = r["counts"]
        cells += [_cell(str(c["ok"]), c["ok"]), _cell(str(c["failed"] + c["partial"]),
                                                         c["failed"] + c["partial"])]  # fmt: skip
        rows.append("<tr>" + "".join(cells) + "</tr>")
    head = "".join(f"<th>{html.escape(h)}</th>" for h in heads)
    return (
        f'<table class="sortable leaderboard"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def media_stem(label: str) -> str:
    """File stem of a column label's clips: a readable slug (``@`` → ``_at_``, ``.`` → ``p``,
    any other run of characters outside ``[A-Za-z0-9_-]`` → ``_``) plus 8 hex digits of the
    SHA-256 of the exact label, so labels the slug folds together (``a b`` / ``a_b``,
    ``lyra@3.2kbps`` / ``lyra@3p2kbps``) still get different files. The reference clip's stem is
    ``reference``, which no label's stem can be (every label's stem ends in ``-<8 hex>``)."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", label.replace("@", "_at_").replace(".", "p"))
    return f"{slug.strip('_') or 'codec'}-{hashlib.sha256(label.encode()).hexdigest()[:8]}"


def _spectrogram_png(audio: np.ndarray, path: Path) -> None:
    import librosa
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mel = librosa.feature.melspectrogram(y=audio.astype(np.float32), sr=16000, n_fft=512,
                                         hop_length=160, n_mels=64)  # fmt: skip
    fig = plt.figure(figsize=(2.2, 0.9), dpi=100)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.imshow(librosa.power_to_db(mel, ref=1.0, top_db=80), origin="lower", aspect="auto",
              cmap="magma", vmin=-80, vmax=0)  # fmt: skip
    ax.axis("off")
    fig.savefig(path)
    plt.close(fig)


def _write_clip(audio: np.ndarray, media: Path, stem: str) -> tuple[str, str]:
    """``media/<stem>.flac`` (16-bit) and its spectrogram ``media/<stem>.png``; their names.
    (Names are built by appending, never ``with_suffix``: a stem may contain dots.)"""
    import soundfile as sf

    flac = media / f"{stem}.flac"
    sf.write(flac, np.clip(audio, -1, 1), 16000, format="FLAC", subtype="PCM_16")
    png = media / f"{stem}.png"
    _spectrogram_png(audio, png)
    return flac.name, png.name


def decode_examples(
    ds_info: dict[str, Any],
    ids: list[str],
    out: Path,
    device: str = "cpu",
    codecs: dict[str, str] | None = None,
) -> dict[str, dict[str, tuple[str, str]]]:
    """Re-decode ``ids`` of the dataset ``ds_info`` (a result's ``dataset`` record) with every
    codec of ``codecs`` (column label → registry name); ``{id: {label or 'reference':
    (flac, png)}}``. A codec that cannot run here gets no column. File names are
    ``<10 hex of (dataset slug, id)>-<reference | media_stem(label)>``, unique per clip."""
    import torch

    from audiocodecs import get_codec
    from bench.audio import load_audio
    from bench.data import get_dataset

    spec = ds_info["name"] if not ds_info["name"].startswith("folder:") else ds_info["source"]
    ds = get_dataset(spec).subset(ids)
    media = out / "media"
    media.mkdir(parents=True, exist_ok=True)
    stems = {label: media_stem(label) for label in codecs or {}}
    if len(set(stems.values())) != len(stems):  # a 32-bit hash collision: refuse, never overwrite
        raise ValueError(f"media file names collide: {stems}")
    clips: dict[str, dict[str, tuple[str, str]]] = {}
    built = {}
    for label, name in (codecs or {}).items():
        try:
            built[label] = get_codec(name, device=device)
        except Exception:  # a codec that cannot run here gets no listening column
            continue
    for utt in ds.utterances:
        ref = load_audio(utt.path).wav
        ds_key = f"{ds_info.get('slug', ds_info['name'])}\0{utt.id}"  # datasets may share ids
        key = hashlib.sha256(ds_key.encode()).hexdigest()[:10]
        clips[utt.id] = {"reference": _write_clip(ref, media, f"{key}-reference")}
        for label, codec in built.items():
            y = codec.roundtrip(torch.from_numpy(ref)[None, None], 16000).wav[0, 0].cpu().numpy()
            clips[utt.id][label] = _write_clip(y, media, f"{key}-{stems[label]}")
    return clips


def _clip_cell(label: str, clip: tuple[str, str] | None, uid: str, side: str = "") -> str:
    """One listening cell: the player (metadata preload only) and the spectrogram, or "—".
    ``side`` ("a"/"b") marks the cells the A/B picker refills (same markup as the page's JS)."""
    attrs = f' class="ab-{side}" data-codec="{html.escape(label)}"' if side else ""
    if clip is None:
        return f"<td{attrs}>—</td>"
    flac, png = clip
    return (
        f'<td{attrs}><audio controls preload="metadata" src="media/{html.escape(flac)}" '
        f'aria-label="{html.escape(f"{label}, {uid}")}"></audio>'
        f'<img alt="log-mel spectrogram, {html.escape(label)}" src="media/{html.escape(png)}"></td>'
    )


def opening_pair(names: list[str], pair: tuple[str, str] | None = None) -> tuple[str, str]:
    """The two codecs the A/B picker opens on: ``pair`` where ``names`` holds them (one of them
    where it holds one, the other side then taken by the rule below), else the first two of
    ``names`` that change the audio (the identity paths only repeat the reference column)."""
    lossy = [n for n in names if not n.startswith("passthrough")] or names
    wanted = [n for n in pair or () if n in names]
    rest = [n for n in lossy if n not in wanted] + [n for n in names if n not in wanted]
    chosen = (wanted + rest)[:2]
    return chosen[0], chosen[1] if len(chosen) > 1 else names[0]


def examples_html(
    clips: dict[str, dict[str, tuple[str, str]]],
    codecs: list[str],
    pair: tuple[str, str] | None = None,
) -> str:
    """Listening rows with an A/B picker: two ``<select>`` (A, B; opening on ``pair`` where the
    rows have both, see :func:`opening_pair`) above a table whose rows show the utterance's
    reference and the A and B codecs' players and spectrograms. Each row carries every codec's
    clip names (``data-clips``, JSON) so the inline JS swaps A or B in every row without any
    network; only the displayed players have a source, so the page loads 3 clips' metadata per
    row, not all."""
    names = [c for c in codecs if any(c in v for v in clips.values())]
    if not names:  # nothing decoded: the reference alone
        rows = "".join(
            f"<tr><td>{html.escape(uid)}</td>{_clip_cell('reference', per['reference'], uid)}</tr>"
            for uid, per in clips.items()
        )
        head = "<th>utterance</th><th>reference</th>"
        return f'<table class="ex"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
    first, second = opening_pair(names, pair)
    pick = {"a": first, "b": second}
    selects = []
    for side, default in pick.items():
        options = "".join(
            f'<option value="{html.escape(n)}"{" selected" if n == default else ""}>'
            f"{html.escape(n)}</option>"
            for n in names
        )
        selects.append(
            f'<label>{side.upper()} <select class="ab-pick" data-side="{side}" '
            f'autocomplete="off">{options}</select></label>'
        )
    head = "<th>utterance</th><th>reference</th>" + "".join(
        f'<th class="ab-{side}">{side.upper()}: {html.escape(n)}</th>' for side, n in pick.items()
    )
    rows = []
    for uid, per in clips.items():
        data = {n: [f"media/{per[n][0]}", f"media/{per[n][1]}"] for n in names if n in per}
        cells = [f"<td>{html.escape(uid)}</td>", _clip_cell("reference", per["reference"], uid)]
        cells += [_clip_cell(n, per.get(n), uid, side) for side, n in pick.items()]
        rows.append(f'<tr data-clips="{html.escape(json.dumps(data))}">{"".join(cells)}</tr>')
    return (
        f'<div class="listen"><p class="ab">{"".join(selects)}<span>pick any two of the '
        f"{len(names)} codecs to hear beside the reference in every row</span></p>"
        f'<table class="ex"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
        "</div>"
    )


def footer_html(results: list[dict[str, Any]]) -> str:
    from datetime import UTC, datetime

    git = git_info()
    versions = ", ".join(f"{k} {v}" for k, v in package_versions().items() if v)
    devices = sorted({r["provenance"]["device"] for r in results})
    return (
        f"<footer><p>Generated by <code>python -m bench report</code> on "
        f"{datetime.now(UTC).date()} at commit <code>{(git['commit'] or 'unknown')[:10]}</code>"
        f"{' (dirty tree)' if git['dirty'] else ''}; result devices: {', '.join(devices)}.</p>"
        f"<p>Packages: {html.escape(versions)}.</p><p>{html.escape(ATTRIBUTION)}</p></footer>"
    )


def page(title: str, body: str, footer: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>'
        f"{html.escape(title)}</title><style>{CSS}</style></head><body><h1>"
        f"{html.escape(title)}</h1>{body}{footer}<script>{JS}</script></body></html>\n"
    )


#: Entry-point group by which an installed package adds pages to the report (pytest's ``pytest11``
#: shape): each entry point names a callable ``provider(ctx: ReportContext) -> list[ReportSection]``
#: that writes its pages under ``ctx.out`` and returns the index sections linking to them. The
#: project's own ``taae`` contributes its ablation studies this way; ``bench`` never imports it.
PAGES_GROUP = "bench.report_pages"


@dataclasses.dataclass(frozen=True)
class ReportContext:
    """What a page provider gets: where the result files are, where the site goes, and the
    report's settings (listening examples per page, decode device, the shared page footer)."""

    results_dir: Path
    out: Path
    examples: int
    device: str
    footer: str


@dataclasses.dataclass(frozen=True)
class ReportSection:
    """One section of the index: a heading and its ``(href, label)`` links (relative to ``out``)."""

    heading: str
    links: list[tuple[str, str]]


def page_providers() -> list[tuple[str, Callable[[ReportContext], list[ReportSection]]]]:
    """The installed ``bench.report_pages`` entry points, by name, loaded. One that fails to load
    is reported on stderr in one line and left out: a broken plugin never blanks the report."""
    import sys
    from importlib.metadata import entry_points

    out = []
    for ep in sorted(entry_points(group=PAGES_GROUP), key=lambda e: e.name):
        try:
            out.append((ep.name, ep.load()))
        except Exception as exc:  # noqa: BLE001 - any import error of a third-party plugin
            print(f"warning: report pages {ep.name!r} ({ep.value}) not loaded: {exc}",
                  file=sys.stderr)  # fmt: skip
    return out


def _resolved(pair: tuple[str, str] | None) -> tuple[str, str] | None:
    """``pair`` with each name as the registry resolves it (``codec2`` → ``codec2@700``); a name
    the registry does not know (a scored folder's) is kept as written."""
    if pair is None:
        return None
    from audiocodecs.registry import resolve

    def one(name: str) -> str:
        try:
            return resolve(name)
        except KeyError:
            return name

    return one(pair[0]), one(pair[1])


def write_report(
    results_dir: Path,
    out: Path,
    dataset: str | None = None,
    codecs: list[str] | None = None,
    examples: int = 4,
    device: str = "cpu",
    pair: tuple[str, str] | None = DEFAULT_PAIR,
) -> Path:
    """Write the site into ``out`` (replaced); returns the index page. ``pair``: the two codecs
    the listening picker opens on wherever a dataset has them (registry names; a family name
    such as ``codec2`` means its default entry)."""
    results = load_visible(results_dir)
    by_ds: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        if codecs and r["codec"]["name"] not in codecs:
            continue
        by_ds.setdefault(r["dataset"]["slug"], []).append(r)
    if dataset:
        by_ds = {k: v for k, v in by_ds.items() if k == dataset}
    if not by_ds:
        raise ValueError(f"no result files to report under {results_dir} (dataset {dataset!r})")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    everything = [r for rs in by_ds.values() for r in rs]
    foot = footer_html(everything)
    parts = ["<p>Every number: mean ± half-width of the 95 % BCa CI on the utterances every "
             "codec scored (n per column), from the committed result files; click a column to "
             "sort. Bitrate is the payload rate.</p>"]  # fmt: skip
    for slug in sorted(by_ds):
        rs = by_ds[slug]
        ds = rs[0]["dataset"]
        plot = out / f"rate_distortion_{slug}.png"
        plot_rate_distortion(rs, plot)
        parts += [
            f"<h2>{html.escape(ds['name'])} — {ds['num_utterances']} utterances "
            f"(<code>{html.escape(slug)}</code>)</h2>",
            table_html(rs, out),
            f'<img alt="rate-distortion on {html.escape(slug)}" src="{plot.name}" '
            'style="max-width:100%">',
        ]
        if examples > 0:
            ids = example_ids(rs, examples)
            clips = decode_examples(
                rs[0]["dataset"],
                ids,
                out,
                device,
                {r["codec"]["name"]: r["codec"]["name"] for r in rs},
            )
            names = [r["codec"]["name"] for r in sorted(rs, key=lambda r: payload_bps(r) or 0)]
            parts += [
                "<h3>Listening examples</h3><p>Re-decoded with the same roundtrip the metrics "
                "scored (deterministic codecs), stored as 16-bit FLAC; log-mel spectrograms "
                "below each player.</p>",
                examples_html(clips, names, _resolved(pair)),
            ]
    ctx = ReportContext(results_dir, out, examples, device, foot)
    for _name, provider in page_providers():
        for section in provider(ctx):
            links = [f'<li><a href="{href}">{html.escape(label)}</a></li>'
                     for href, label in section.links]  # fmt: skip
            parts += [f"<h2>{html.escape(section.heading)}</h2><ul>", *links, "</ul>"]
    index = out / "index.html"
    atomic_write_text(index, page("Speech-codec benchmark", "".join(parts), foot))
    return index
