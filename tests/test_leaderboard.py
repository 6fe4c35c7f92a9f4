"""LEADERBOARD.md is generated only from result files; golden-file test of its exact markdown."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench.leaderboard import write_leaderboard
from bench.results import SCHEMA_VERSION, atomic_write_json

GOLDEN = Path(__file__).parent / "golden" / "leaderboard.md"


def _result(name: str, bps: float, pesq: float, *, pretrained: bool = True,
            bytes_bps: float | None = None,
            pesq_values: list[float | None] | None = None) -> dict[str, Any]:  # fmt: skip
    metric = {"label": "PESQ-WB", "unit": "MOS-LQO", "higher_is_better": True}
    stoi = {"label": "STOI", "unit": "", "higher_is_better": True}
    pesqs = pesq_values or [pesq - 0.1, pesq, pesq + 0.1]
    utts = []
    for i, v in enumerate(pesqs):
        rec: dict[str, Any] = {"id": f"u{i}", "status": "ok"}
        rec["metrics"] = {"pesq_wb": v, "stoi": 0.9}
        if v is None:
            rec = {"id": f"u{i}", "status": "failed", "stage": "codec", "error": "boom"}
        utts.append(rec)
    failed = sum(v is None for v in pesqs)
    return {
        "schema": SCHEMA_VERSION,
        "codec": {"name": name, "pretrained": pretrained, "nominal_bps": bps},
        "dataset": {
            "name": "default",
            "slug": "default",
            "num_utterances": 3,
            "ids_sha256": "ab" * 32,
            "source": "bench/data/default",
        },  # fmt: skip
        "metrics": {"pesq_wb": metric, "stoi": stoi},
        "summary": {
            "pesq_wb": {"n": 3, "mean": pesq, "ci95": [pesq - 0.1, pesq + 0.1]},
            "stoi": {"n": 3, "mean": 0.9, "ci95": None},
        },
        "bitrate": {"nominal_bps": bps, "entropy_bps": None, "bytes_bps": bytes_bps},
        "codebook": None,
        "throughput": {"encode_xrt": 10.0, "decode_xrt": 20.0},
        "counts": {"ok": 3 - failed, "partial": 0, "failed": failed},
        "provenance": {"device": "cpu (2 threads, x86_64)", "git": {"commit": "0123456789abcdef"}},
        "utterances": utts,
    }


def _populate(root: Path) -> None:
    atomic_write_json(root / "default" / "passthrough.json", _result("passthrough", 0, 4.64))
    atomic_write_json(
        root / "default" / "opus@6kbps.json", _result("opus@6kbps", 6000, 2.1, bytes_bps=6845.2)
    )
    atomic_write_json(
        root / "default" / "random.json", _result("taae_fsq_random", 613, 1.0, pretrained=False)
    )


def test_leaderboard_matches_golden_file(tmp_path: Path) -> None:
    _populate(tmp_path)
    written = write_leaderboard(tmp_path)
    text = (tmp_path / "LEADERBOARD.md").read_text()
    # the board names the folder it was made from (issue #32): a temporary one here
    assert f"from the result files in `{tmp_path}/`" in text
    text = text.replace(f"{tmp_path}/", "<tmp>/")
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()
    assert any(p.suffix == ".png" and p.stat().st_size > 1000 for p in written)


def test_random_init_codecs_never_reach_the_leaderboard(tmp_path: Path) -> None:
    _populate(tmp_path)
    write_leaderboard(tmp_path)
    text = (tmp_path / "LEADERBOARD.md").read_text()
    measured, reported = text.split("## Reported by the TAAE paper")
    assert "taae_fsq_random" not in text
    assert "opus@6kbps" in measured and "4.64 ± 0.10" in measured
    assert "4.73" in reported and "4.73" not in measured  # paper figures only in their own table


def test_every_codec_is_scored_on_the_utterances_all_codecs_scored(tmp_path: Path) -> None:
    # "broken" fails on the hardest utterance (u0); averaging the others over all three would
    # hide that, so every row of the table covers u1 and u2 only, and n says so
    atomic_write_json(
        tmp_path / "default" / "good.json", _result("good", 700, 0, pesq_values=[1.0, 2.0, 3.0])
    )
    atomic_write_json(
        tmp_path / "default" / "broken.json",
        _result("broken", 600, 0, pesq_values=[None, 2.2, 3.2]),
    )
    write_leaderboard(tmp_path)
    text = (tmp_path / "LEADERBOARD.md").read_text()
    assert "n=2" in text
    row = {line.split("|")[1].strip(): line for line in text.splitlines() if "|" in line}
    assert "2.50" in row["good"] and "2.70" in row["broken †"]
    assert "1 × failed at codec: boom" in text


def test_paired_comparisons_test_the_named_pairs_on_common_utterances(tmp_path: Path) -> None:
    # taae_fsq beats taae_rvq by exactly 0.2 PESQ on each of the utterances both scored; the
    # failed utterance of taae_rvq (u0) is left out of the pair's n as of the table's
    fsq = [1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
    atomic_write_json(
        tmp_path / "default" / "taae_fsq.json",
        _result("taae_fsq", 613, 0, pesq_values=[v + 0.2 for v in fsq]),
    )
    atomic_write_json(
        tmp_path / "default" / "taae_rvq.json",
        _result("taae_rvq", 613, 0, pesq_values=[None, *fsq[1:]]),
    )
    write_leaderboard(tmp_path)
    text = (tmp_path / "LEADERBOARD.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| `taae_fsq` − `taae_rvq`")]
    pesq = next(r for r in rows if "PESQ-WB" in r).split("|")
    # n = 5 common utterances; exact sign-flip floor 2 / 2^5 = 0.0625 > 0.05: not significant
    assert pesq[3].strip() == "5" and pesq[4].strip() == "+0.200"
    assert "p = 0.0625 (floor)" in pesq[6] and pesq[7].strip() == "n.s."
    stoi = next(r for r in rows if "STOI" in r).split("|")
    assert stoi[4].strip() == "+0.0000"


def test_a_codec_that_scored_nothing_or_little_never_empties_the_comparison(
    tmp_path: Path,
) -> None:
    """Issue #32: one codec that failed every utterance made every other codec's row n=0 and
    "—". The rule (bench.compare.MIN_COVERAGE): the common set is taken over the codecs that
    scored at least half of what the best-covered one scored; the others get their own row."""
    from bench.compare import compare

    vals = [1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
    results = {
        "good": _result("good", 700, 0, pesq_values=vals),
        "better": _result("better", 800, 0, pesq_values=[v + 0.5 for v in vals]),
        "few": _result("few", 600, 0, pesq_values=[None, None, None, None, 2.0, 3.0]),
        "dead": _result("dead", 500, 0, pesq_values=[None] * 6),
    }
    comp = compare(list(results.values()))
    assert comp.common["pesq_wb"] == [f"u{i}" for i in range(6)]
    assert (
        comp.summary["good"]["pesq_wb"]["n"] == 6
        and comp.summary["good"]["pesq_wb"]["mean"] == 2.25
    )
    assert "pesq_wb" not in comp.summary["few"] and not comp.compared("dead")
    left = comp.left_out["few"]["pesq_wb"]
    assert (left.n, left.of, left.summary["mean"]) == (2, 6, 2.5)
    assert comp.scored_nothing == ["dead"]
    # at exactly half it is compared, and the common set shrinks to what it scored
    half = _result("half", 650, 0, pesq_values=[None, None, None, 2.5, 3.0, 3.5])
    assert compare([results["good"], half]).common["pesq_wb"] == ["u3", "u4", "u5"]

    for name, res in results.items():
        atomic_write_json(tmp_path / "default" / f"{name}.json", res)
    write_leaderboard(tmp_path)
    text = (tmp_path / "LEADERBOARD.md").read_text()
    table, rest = text.split("Left out of the comparison", 1)
    rows = {line.split("|")[1].strip(): line for line in table.splitlines() if "|" in line}
    assert "n=6" in text and "2.25" in rows["good"] and "2.75" in rows["better"]
    assert "few †" not in rows and "dead" not in rows  # not rows of the compared table
    left_rows = [line for line in rest.splitlines() if line.startswith("| few")]
    assert len(left_rows) == 1 and "(n=2 of 6)" in left_rows[0] and "2.50" in left_rows[0]
    assert "- ✗ `dead` scored no utterance, left out: 6 × failed at codec: boom" in text


def test_reported_tables_come_from_data_and_stay_apart_from_measured_rows(tmp_path: Path) -> None:
    """Paper figures render only in sections labelled *not measured here*, each cited row with a
    numbered source that says what differs from this harness's protocol."""
    import json

    from bench.leaderboard import REPORTED_FILE, reported_sections

    data = json.loads(REPORTED_FILE.read_text())
    assert all("not measured here" in t["title"] for t in data["tables"])
    for t in data["tables"][1:]:  # the field's rows: each verified against its source table
        assert all(r.get("source") and r.get("row_as_read") for r in t["rows"])
    path = tmp_path / "reported.json"
    path.write_text(json.dumps({"tables": [{
        "title": "Reported by X (not measured here)", "intro": "Quoted.",
        "columns": [["pesq_wb", "PESQ-WB"], ["mos", "MOS-type"]],
        "rows": [
            {"codec": "A", "bps": 700, "pesq_wb": 2.5, "mos": {"metric": "UTMOS", "value": 4.0},
             "source": "Paper P, Table 1", "differs": "all 2620 utterances; 24 kHz codec"},
            {"codec": "B", "bps": 480, "pesq_wb": None, "source": "Paper P, Table 1",
             "differs": "all 2620 utterances"},
        ],
    }]}))  # fmt: skip
    text = "\n".join(reported_sections(path))
    assert "| A       | 700   | 2.50      | UTMOS 4.00 | [1]      |" in text
    assert "| B       | 480   | —         | —          | [1]      |" in text
    assert "1. Paper P, Table 1: differs: all 2620 utterances. Per row — A: 24 kHz codec." in text
    assert "[2]" not in text  # one note per source
    assert reported_sections(tmp_path / "absent.json") == []


def test_the_report_table_marks_a_left_out_codec_instead_of_a_blank() -> None:
    """The HTML table says "left out: n=2 of 6 (2.500)" where a codec scored too few utterances
    for a metric — the markdown board's rule, never an unexplained empty cell."""
    from bench.report import table_html

    vals = [1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
    html = table_html([
        _result("good", 700, 0, pesq_values=vals),
        _result("few", 600, 0, pesq_values=[None, None, None, None, 2.0, 3.0]),
    ])  # fmt: skip
    row = next(r for r in html.split("<tr>") if r.startswith('<td data-v="few"'))
    assert "left out: n=2 of 6 (2.500)" in row
