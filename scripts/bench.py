"""Benchmark of the data layer: time and peak memory of read + harmonise + validate.

Cases (each in a fresh process, so peak memory is the case's own):
- the real CTDC 2021 synthetic file in ../shared/data/ctdc/ (skipped with a note if absent);
- 1,000,000 rows of the built-in generator written in the 2021 synthetic release's CSV format,
  and in the old global release's format (63 columns, -99 codes).

Targets (issue 2): real file under 5 s and under 1.5 GB peak on 2 cores.
Run: make bench   (writes bench-results/data_layer.json)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "ctdc" / "ctdc_synthetic_20210825_reconstructed.csv"
OUT = ROOT / "bench-results"

_CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from ctdc_risk.data.io import read_table
from ctdc_risk.data.releases import detect_release
from ctdc_risk.data.harmonise import harmonise
from ctdc_risk.data.validate import validate_canonical, canonical_schema
canonical_schema()
import country_converter  # noqa: F401  (imports are not the data layer's work)
t_import = time.perf_counter() - t0
path = sys.argv[1]
t = time.perf_counter(); raw = read_table(path); t_read = time.perf_counter() - t
t = time.perf_counter(); match = detect_release(raw.frame.columns, source=path)
h = harmonise(raw, match); t_harm = time.perf_counter() - t
t = time.perf_counter(); validate_canonical(h.frame, source=path); t_val = time.perf_counter() - t
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"rows": len(h.frame), "release": match.release.id, "import_s": t_import,
    "read_s": t_read, "harmonise_s": t_harm, "validate_s": t_val,
    "total_s": t_read + t_harm + t_val, "peak_rss_mb": peak_mb}))
"""


def _measure(path: Path) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _write_synthetic(n_rows: int, release: str, folder: Path) -> Path:
    from ctdc_risk.data.raw_format import write_release_file
    from ctdc_risk.data.synthetic import generate_synthetic

    path = folder / f"synthetic_{release}_{n_rows}.csv"
    t = time.perf_counter()
    frame = generate_synthetic(n_rows, seed=1)
    t_gen = time.perf_counter() - t
    write_release_file(frame, path, release)
    print(f"  generated {n_rows:,} rows in {t_gen:.1f} s; wrote {path.stat().st_size / 1e6:.0f} MB")
    return path


def main() -> int:
    results: dict[str, object] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    print("Data layer: read + harmonise + validate (fresh process per case)")
    if REAL.is_file():
        results["real_2021_synthetic"] = _measure(REAL)
    else:
        results["real_2021_synthetic"] = {"skipped": f"{REAL} not found"}
    with tempfile.TemporaryDirectory() as tmp:
        for release in ("synthetic_2021", "global_2017_2021"):
            path = _write_synthetic(1_000_000, release, Path(tmp))
            results[f"generated_1M_{release}"] = _measure(path)
    print()
    print(f"{'case':<34}{'rows':>10}{'read':>8}{'harm.':>8}{'valid.':>8}{'total':>8}{'peak MB':>9}")
    for case, r in results.items():
        if not isinstance(r, dict):
            continue
        if "skipped" in r:
            print(f"{case:<34} skipped: {r['skipped']}")
            continue
        print(
            f"{case:<34}{r['rows']:>10,}{r['read_s']:>8.2f}{r['harmonise_s']:>8.2f}"
            f"{r['validate_s']:>8.2f}{r['total_s']:>8.2f}{r['peak_rss_mb']:>9.0f}"
        )
    real = results["real_2021_synthetic"]
    if isinstance(real, dict) and "total_s" in real:
        ok = real["total_s"] < 5 and real["peak_rss_mb"] < 1536
        print(f"\nreal file target (< 5 s, < 1.5 GB): {'met' if ok else 'NOT met'}")
    OUT.mkdir(exist_ok=True)
    (OUT / "data_layer.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"results written to {OUT / 'data_layer.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
