"""Cross-machine spread of every number the regression gate compares, by emulating other CPUs.

    python benchmarks/check_spread.py [--out results/perf/check_spread.json] [--envs a,b]

Reruns the gate's baseline subset (``bench check --update`` into a scratch folder, one fresh
process per environment) under environments that change the numeric kernels without changing
the code: torch's generic kernels (``ATEN_CPU_CAPABILITY=default``), numpy's dispatch without
AVX2/FMA3/AVX-512 (``NPY_DISABLE_CPU_FEATURES``), MKL / oneDNN capped at SSE4.2, and one thread
instead of two. For every (codec, gated number) it records the largest absolute deviation from
the committed baseline (written on another machine) and from the native rerun here; per metric,
the largest over codecs. ``bench.check`` derives its tolerances from these figures (module
docstring). Needs nothing but the project's venv; ≈ 40 s per environment on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.check import gated_numbers  # noqa: E402
from bench.results import atomic_write_json, load_result, provenance  # noqa: E402

NO_AVX = "AVX512F AVX512CD AVX512_SKX AVX2 FMA3"
#: name → environment overrides (on top of the caller's environment).
ENVS: dict[str, dict[str, str]] = {
    "native": {},
    "threads1": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
    "aten_default": {"ATEN_CPU_CAPABILITY": "default"},
    "numpy_no_avx2": {"NPY_DISABLE_CPU_FEATURES": NO_AVX},
    "mkl_sse42": {"MKL_ENABLE_INSTRUCTIONS": "SSE4_2", "DNNL_MAX_CPU_ISA": "SSE41"},
    "all_emulated_1thread": {
        "ATEN_CPU_CAPABILITY": "default",
        "NPY_DISABLE_CPU_FEATURES": NO_AVX,
        "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
        "DNNL_MAX_CPU_ISA": "SSE41",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    },
}


def rerun(env_name: str, codecs: list[str], metrics: list[str], scratch: Path) -> Path:
    """``bench check --update`` of ``codecs`` into ``scratch/env_name`` under that environment
    (kept: a folder that already holds every codec's file is reused)."""
    out = scratch / env_name
    if out.is_dir() and len(list(out.glob("*.json"))) == len(codecs):
        print(f"[{env_name}] reusing {out}", flush=True)
        return out
    env = {**os.environ, **ENVS[env_name], "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-m", "bench", "check", "--update", "--baselines", str(out),
           "--codecs", ",".join(codecs), "--metrics", ",".join(metrics)]  # fmt: skip
    print(f"[{env_name}] {' '.join(f'{k}={v!r}' for k, v in ENVS[env_name].items())}", flush=True)
    subprocess.run(cmd, cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baselines", default=str(REPO / "results/check"))
    p.add_argument("--envs", default=",".join(ENVS), help=f"subset of {','.join(ENVS)}")
    p.add_argument("--out", default=None, help="JSON file for the spreads (default: print only)")
    p.add_argument("--scratch", default=None, help="keep the reruns here (resumes; default: temp)")
    args = p.parse_args()
    envs = [e.strip() for e in args.envs.split(",") if e.strip()]
    unknown = sorted(set(envs) - set(ENVS))
    if unknown:
        p.error(f"unknown environments {unknown}; have {list(ENVS)}")
    base_files = sorted(Path(args.baselines).glob("*.json"))
    committed = {load_result(f)["codec"]["name"]: gated_numbers(load_result(f)) for f in base_files}
    codecs = sorted(committed)
    # every metric any committed baseline gates (the reruns score all of them for every codec)
    metrics = list(dict.fromkeys(m for f in base_files for m in load_result(f)["metrics"]))
    runs: dict[str, dict[str, dict[str, float | None]]] = {}
    with tempfile.TemporaryDirectory(prefix="check-spread-") as tmp:
        scratch = Path(args.scratch) if args.scratch else Path(tmp)
        for env in envs:
            folder = rerun(env, codecs, metrics, scratch)
            runs[env] = {}
            for f in sorted(folder.glob("*.json")):
                r = load_result(f)
                runs[env][r["codec"]["name"]] = gated_numbers(r)
    rows: list[dict[str, Any]] = []
    for codec in codecs:
        for key, base in committed[codec].items():
            vals = {env: runs[env].get(codec, {}).get(key) for env in envs}
            dev_committed = {e: _dev(v, base) for e, v in vals.items()}
            native = vals.get("native")
            dev_native = {e: _dev(v, native) for e, v in vals.items() if e != "native"}
            rows.append(dict(codec=codec, number=key, committed=base, values=vals,
                             max_dev_from_committed=_max(dev_committed.values()),
                             max_dev_from_native=_max(dev_native.values())))  # fmt: skip
    per_number: dict[str, dict[str, Any]] = {}
    for r in rows:
        agg = per_number.setdefault(
            r["number"], {"max_dev_from_committed": 0.0, "max_dev_from_native": 0.0, "worst": None}
        )
        for k in ("max_dev_from_committed", "max_dev_from_native"):
            if r[k] is not None and r[k] >= agg[k]:
                agg[k] = r[k]
                if k == "max_dev_from_committed":
                    agg["worst"] = f"{r['codec']} (baseline {r['committed']:.6g})"
    for number, agg in per_number.items():
        print(f"{number:24s} committed Δmax {agg['max_dev_from_committed']:.3g}  "
              f"native Δmax {agg['max_dev_from_native']:.3g}  worst: {agg['worst']}")  # fmt: skip
    if args.out:
        atomic_write_json(Path(args.out), {"environments": {e: ENVS[e] for e in envs},
                                           "per_number": per_number, "rows": rows,
                                           "provenance": provenance("cpu")})  # fmt: skip
        print(f"wrote {args.out}")


def _dev(v: float | None, ref: float | None) -> float | None:
    if v is None or ref is None:
        return None
    return abs(v - ref)


def _max(vals: Any) -> float | None:
    vals = [v for v in vals if v is not None]
    return max(vals) if vals else None


if __name__ == "__main__":
    main()
