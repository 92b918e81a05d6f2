"""Every output file of a study on data with deliberately tiny subgroups, scanned for counts
under the privacy floor and for row-level data (issue 4: the privacy scan)."""

import csv
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctdc_risk.cli.compose import compose_spec
from ctdc_risk.data.raw_format import write_release_file
from ctdc_risk.data.synthetic import generate_synthetic
from ctdc_risk.pipeline.describe import run_describe
from ctdc_risk.pipeline.study import run_study

K = 10
COUNT = re.compile(r"(^|[/_.])n($|_)|^n\w*$|\bcases\b|(^|_)count$")


def _tiny_subgroups(tmp: Path) -> Path:
    frame = generate_synthetic(6000, seed=21)
    rng = np.random.default_rng(0)
    # Plant subgroups of 1-7 cases: a rare citizenship, a rare destination, trans children.
    # Namibia (Southern Africa) and Fiji (Melanesia): sub-regions the generator never draws.
    for iso3, col, n in (("NAM", "citizenship_iso3", 3), ("FJI", "exploitation_iso3", 7)):
        rows = rng.choice(len(frame), n, replace=False)
        cats = [*frame[col].cat.categories, iso3]
        frame[col] = frame[col].cat.set_categories(cats)
        frame.loc[rows, col] = iso3
    kids = np.flatnonzero(frame["is_child"].fillna(False).to_numpy())[:4]
    frame.loc[kids, "gender"] = "trans_nonconforming"
    path = tmp / "tiny.csv"
    write_release_file(frame, path, "ctdc_risk_canonical")
    return path


def _spec(overrides):
    return compose_spec(overrides)


def _violations(out_dir: Path) -> list[str]:
    found = []
    for path in sorted(out_dir.rglob("*")):
        if path.suffix == ".csv":
            rows = list(csv.reader(path.open()))
            header, body = rows[0], rows[1:]
            for i, name in enumerate(header):
                if not COUNT.search(name) or name in ("n_boot",):
                    continue
                for row in body:
                    found += _check(row[i], f"{path.name}:{name}")
            # Secondary disclosure: a share published beside its denominator gives the count.
            for n_col, share_col in SHARE_PAIRS:
                if n_col in header and share_col in header:
                    i, j = header.index(n_col), header.index(share_col)
                    for row in body:
                        found += _implied(row[i], row[j], f"{path.name}:{share_col}")
        elif path.suffix == ".json":
            found += _walk(json.loads(path.read_text()), path.name)
        elif path.suffix == ".md":
            found += _markdown_tables(path)
    return found


SHARE_PAIRS = (
    ("n_with", "share_with"),
    ("n_without", "share_without"),
    ("n", "share"),
    ("n", "observed_rate"),
    ("n_heldout", "rate"),
)


def _implied(n: str, share: str, where: str) -> list[str]:
    try:
        total, rate = float(n), float(share)
    except ValueError:
        return []
    yes = round(total * rate)
    no = round(total) - yes
    return [f"{where}: {yes} of {total:.0f}"] if 0 < yes < K or 0 < no < K else []


def _check(value: object, where: str) -> list[str]:
    try:
        number = float(str(value).replace(",", ""))
    except ValueError:
        return []
    return [f"{where}={value}"] if 0 < number < K else []


def _walk(data: object, where: str) -> list[str]:
    out = []
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                last = str(key).rsplit("/", 1)[-1]
                if COUNT.search(last) and last not in ("n_boot", "n_bytes", "privacy_k"):
                    out += _check(value, f"{where}:{key}")
            out += _walk(value, f"{where}.{key}")
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += _walk(value, f"{where}[{i}]")
    return out


def _markdown_tables(path: Path) -> list[str]:
    out = []
    header: list[str] = []
    for line in path.read_text().splitlines():
        if not line.startswith("|"):
            header = []
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if not header:
            header = cells
            continue
        if set(line) <= set("|-: "):
            continue
        for name, cell in zip(header, cells, strict=False):
            if COUNT.search(name.lower()) and "%" not in cell and "of" not in cell:
                out += _check(cell, f"{path.name}:{name}")
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scan")
    data = _tiny_subgroups(tmp)
    base = [
        "data=ctdc", f"data.path={data}", "stability.n_boot=6", "stability.n_jobs=1",
        "cv.n_splits=3", f"privacy.k={K}",
    ]  # fmt: skip
    # Every case level is tested for effect modification: its table is scanned too.
    study = run_study(_spec([*base, "explain.interaction_levels=all"]), tmp / "study")
    describe = run_describe(_spec([*base, "command=describe", "cohort=all"]), tmp / "describe")
    boys = run_study(_spec([*base, "cohort=boys", "target=sexual_exploitation"]), tmp / "boys")
    return [study.out_dir, describe.out_dir, boys.out_dir]


def test_no_output_file_publishes_a_count_under_k(runs):
    for out_dir in runs:
        assert _violations(out_dir) == [], out_dir


def test_scanner_catches_a_small_count(tmp_path):
    (tmp_path / "t.csv").write_text("factor,n_with\na,12\nb,3\n")
    (tmp_path / "t.json").write_text(json.dumps({"groups": [{"n": 4}]}))
    (tmp_path / "t.md").write_text("| level | cases |\n|---|---:|\n| x | 7 |\n")
    (tmp_path / "s.csv").write_text("factor,n_with,share_with\na,40,0.1\nb,40,0.5\n")
    assert len(_violations(tmp_path)) == 4


def test_no_row_level_output(runs):
    study_dir = runs[0]
    n_cases = json.loads((study_dir / "metrics.json").read_text())["target/n_rows"]
    for path in study_dir.rglob("*.csv"):
        n_lines = sum(1 for _ in path.open()) - 1
        assert n_lines < n_cases / 2, f"{path.name} has {n_lines} rows: row-level data?"
    # The report's words only: embedded figures are base64 text, where any 3 letters can occur.
    report = re.sub(
        r"data:image/png;base64,[A-Za-z0-9+/=]+", "", (study_dir / "report.html").read_text()
    )
    assert "oof" not in report and "per-record" not in report


def test_tiny_groups_never_appear_by_name(runs):
    for out_dir in runs:
        for path in out_dir.rglob("*"):
            if path.suffix in (".csv", ".json", ".md", ".html"):
                text = path.read_text()
                assert "Southern Africa" not in text and "Melanesia" not in text, path
                # the 4 trans children may appear only pooled or suppressed
                for row in csv.reader(text.splitlines()) if path.suffix == ".csv" else []:
                    if "trans_nonconforming" in row and "n_with" in text.splitlines()[0]:
                        pytest.fail(f"{path.name}: a level of fewer than k cases is published")


def test_every_subgroup_summary_rests_on_k(runs):
    frame = pd.read_csv(runs[0] / "shap_subgroups.csv", dtype={"n": str})
    # a size is published (at least k) or withheld when it would give a small group back
    assert all(n == "suppressed" or int(n) >= K for n in frame["n"])
