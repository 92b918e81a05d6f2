"""Print a sha256 for every output a study writes that does not name its input file, its run
folder or the clock: the before/after evidence that a refactoring changed no result.

    python scripts/output_hashes.py [--real PATH] [OVERRIDE ...]

Runs the default study on the built-in synthetic data (as `make run` does, without tracking),
and, with --real, the default study on a real CTDC release; prints `study file sha256` lines
and one combined digest per study.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from pathlib import Path

from ctdc_risk.cli.compose import compose_spec
from ctdc_risk.pipeline.study import run_study

# Files named in tests/test_determinism.py plus the other study outputs that carry no path or
# time; report.md/html and data_report.json name the input file and the clock.
FILES = (
    "metrics.json", "factors.csv", "factors.json", "context.csv", "cv_folds.csv",
    "calibration.csv", "shap_importance.csv", "shap_subgroups.csv", "cohort_flow.csv",
    "targeting.csv", "targeting.json", "interactions.csv", "interactions.json",
    "sensitivity.csv", "models/lightgbm_model.txt", "models/logistic_coefficients.json",
)  # fmt: skip


def _digests(overrides: list[str], out: Path) -> dict[str, str]:
    result = run_study(compose_spec(["tracking=none", *overrides]), out)
    found = {}
    for name in FILES:
        path = result.out_dir / name
        if path.is_file():
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, help="a real CTDC release file")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args(argv)
    studies = {"synthetic": list(args.overrides)}
    if args.real:
        studies["real"] = ["data=ctdc", f"data.path='{args.real.resolve()}'", *args.overrides]
    with tempfile.TemporaryDirectory() as tmp:
        for name, overrides in studies.items():
            digests = _digests(overrides, Path(tmp) / name)
            combined = hashlib.sha256()
            for file, digest in digests.items():
                print(f"{name} {file} {digest}")
                combined.update(f"{file} {digest}\n".encode())
            print(f"{name} ALL {combined.hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
