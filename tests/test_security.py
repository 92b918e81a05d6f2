"""Reliability and security of what a run reads and writes.

- No leaf of the saved LightGBM model rests on fewer than ``privacy.k`` training records.
- The package never unpickles or evaluates anything; the saved models match their sha256.
- No CSV cell a run writes is a spreadsheet formula, even when the data file is hostile.
- Every file a run writes stays inside its run folder; no file name comes from the data.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

import ctdc_risk
from ctdc_risk.cli.compose import compose_spec
from ctdc_risk.data.raw_format import write_release_file
from ctdc_risk.data.synthetic import generate_synthetic
from ctdc_risk.features import FeatureSetSpec, add_derived_columns, select_factors
from ctdc_risk.models import LeafFloorClassifier, ModelSpec, build_model, smallest_leaf_count
from ctdc_risk.outputs import safe_path, write_csv, write_text
from ctdc_risk.pipeline.describe import run_describe
from ctdc_risk.pipeline.study import StudyResult, run_study

K = 25
# 20,000 synthetic rows give ~1,400 cases: enough for LightGBM's own (hessian-estimated) leaf
# counts to fall a few records short of min_child_samples = k on some trees.
PRIVATE = [
    "data.n_rows=20000", "model=lightgbm", f"privacy.k={K}", "model.lightgbm.min_child_samples=5",
    "stability.n_boot=2", "stability.n_jobs=1", "cv.n_splits=3",
]  # fmt: skip
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HOSTILE = [
    '=HYPERLINK("http://evil.example","open")',
    "@SUM(1+1)",
    "+cmd|' /C calc'!A0",
    "-2+3+cmd",
]


def _leaves(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if "left_child" in node:
        yield from _leaves(node["left_child"])
        yield from _leaves(node["right_child"])
    else:
        yield node


def _leaf_counts(booster: lgb.Booster) -> list[list[int]]:
    """Per tree, the ``leaf_count`` of each leaf in leaf-index order."""
    out = []
    for tree in booster.dump_model()["tree_info"]:
        leaves = sorted(_leaves(tree["tree_structure"]), key=lambda n: n.get("leaf_index", 0))
        out.append([int(n["leaf_count"]) for n in leaves])
    return out


# --- 1. the saved LightGBM model keeps the privacy floor ---------------------------------------


@pytest.fixture(scope="module")
def private_study(tmp_path_factory: pytest.TempPathFactory) -> StudyResult:
    return run_study(compose_spec(PRIVATE), tmp_path_factory.mktemp("private"))


def test_saved_lightgbm_model_has_no_leaf_under_k(private_study: StudyResult) -> None:
    path = private_study.out_dir / "models" / "lightgbm_model.txt"
    booster = lgb.Booster(model_file=str(path))  # LightGBM's text format: loading runs no code
    counts = _leaf_counts(booster)
    assert sum(len(c) > 1 for c in counts) > 10, "the model should have split trees to check"
    smallest = min(min(c) for c in counts)
    assert smallest >= K, f"a leaf of the saved model holds {smallest} < k={K} records"


def test_leaf_counts_are_training_records_not_weights(private_study: StudyResult) -> None:
    # Balanced class weights make each record weigh 0.5 / share of its class, so a weighted
    # count would differ from the number of records; leaf_count must be the number of records.
    result = private_study
    spec = result.spec.models[0]
    positive_only = result.data_report.flag_semantics == "positive_only"
    pipeline = build_model(
        spec, result.factors, k=K, positive_only=positive_only, seed=result.spec.seed
    )
    pipeline.fit(result.target.frame, result.target.y)
    booster = pipeline.named_steps["model"].estimator_.booster_
    saved = (result.out_dir / "models" / "lightgbm_model.txt").read_text()
    assert booster.model_to_string() == saved  # the refit is the saved model
    X = np.asarray(pipeline.named_steps["encode"].transform(result.target.frame), dtype=float)
    leaf_of = booster.predict(X, pred_leaf=True)
    for tree, counts in enumerate(_leaf_counts(booster)):
        records = np.bincount(leaf_of[:, tree], minlength=len(counts)).tolist()
        assert records == counts, f"tree {tree}: leaf_count is not the number of records"


def test_min_child_samples_below_k_is_raised_to_k(private_study: StudyResult) -> None:
    spec = private_study.spec.models[0]
    assert spec.params["min_child_samples"] == 5  # the config asked for less than k...
    pipeline = build_model(spec, private_study.factors, k=K, positive_only=False, seed=0)
    floor = pipeline.named_steps["model"].estimator
    assert isinstance(floor, LeafFloorClassifier)
    assert floor.min_leaf == K  # ...the model is built with k
    assert floor.estimator.get_params()["min_child_samples"] == K


@pytest.fixture(scope="module")
def cases() -> tuple[pd.DataFrame, np.ndarray, tuple[Any, ...]]:
    frame = add_derived_columns(generate_synthetic(20_000, seed=8))
    frame = frame[frame["recruiter_known"].fillna(False)].reset_index(drop=True)
    # A rare outcome: balanced weights then differ most between the classes.
    y = frame["recruiter_intimate_partner"].fillna(False).to_numpy(dtype=bool)
    factors = select_factors(FeatureSetSpec("all"), leakage=("recruiter_*",), frame=frame)
    return frame, y, tuple(factors)


@pytest.mark.parametrize("k", [10, 25, 60])
def test_every_lightgbm_fit_keeps_the_floor_on_a_rare_outcome(cases, k: int) -> None:
    frame, y, factors = cases
    assert 0.05 < y.mean() < 0.3
    spec = ModelSpec.from_mapping("lightgbm", {"min_child_samples": 1}, key="model.lightgbm")
    pipeline = build_model(spec, factors, k=k, positive_only=False, seed=0).fit(frame, y)
    floor = pipeline.named_steps["model"].estimator_
    assert smallest_leaf_count(floor.booster_) >= k
    assert floor.min_child_samples_ >= k


def test_floor_above_half_the_records_leaves_one_leaf_per_tree() -> None:
    rng = np.random.default_rng(0)
    X = rng.integers(0, 3, size=(60, 2)).astype(float)
    y = np.arange(60) % 2
    template = lgb.LGBMClassifier(n_estimators=5, min_child_samples=1, verbose=-1)
    model = LeafFloorClassifier(template, min_leaf=40).fit(X, y)
    assert smallest_leaf_count(model.booster_) == 60
    with pytest.raises(ValueError, match="min_leaf=80"):
        LeafFloorClassifier(template, min_leaf=80).fit(X, y)


# --- 2. nothing is unpickled or evaluated; saved models match their hashes ---------------------

SRC = Path(ctdc_risk.__file__).parent
UNSAFE_MODULES = {"pickle", "_pickle", "cPickle", "cloudpickle", "dill", "shelve", "marshal"}
UNSAFE_ATTRIBUTES = {
    ("joblib", "load"), ("torch", "load"), ("pd", "read_pickle"), ("pandas", "read_pickle"),
    ("yaml", "unsafe_load"), ("yaml", "full_load"), ("yaml", "load_all"),
}  # fmt: skip
SAFE_YAML_LOADERS = {"SafeLoader", "CSafeLoader", "BaseLoader"}


def _attribute_path(node: ast.AST) -> tuple[str, ...]:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return tuple(reversed(parts))


def _unsafe_calls(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names]
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else names
            for module in modules:
                if module.split(".")[0] in UNSAFE_MODULES | {"torch"}:
                    yield node.lineno, f"import {module}"
            if isinstance(node, ast.ImportFrom) and node.module:
                for name in names:
                    if (node.module.split(".")[0], name) in UNSAFE_ATTRIBUTES | {
                        ("numpy", "load"),
                        ("yaml", "load"),
                    }:
                        yield node.lineno, f"from {node.module} import {name}"
        if not isinstance(node, ast.Call):
            continue
        path = _attribute_path(node.func)
        keywords = {kw.arg: kw.value for kw in node.keywords}
        if path in (("eval",), ("exec",), ("compile",), ("__import__",)):
            yield node.lineno, f"{path[0]}()"
        elif path[-2:] in UNSAFE_ATTRIBUTES or path[-1:] in (("load_model",), ("read_pickle",)):
            yield node.lineno, ".".join(path)
        elif path[-2:] in (("np", "load"), ("numpy", "load")):
            flag = keywords.get("allow_pickle")
            if not (flag is None or (isinstance(flag, ast.Constant) and flag.value is False)):
                yield node.lineno, "np.load(allow_pickle=...)"
        elif path[-2:] == ("yaml", "load"):
            loader = keywords.get("Loader")
            name = _attribute_path(loader)[-1:] if loader is not None else ()
            if not name or name[0] not in SAFE_YAML_LOADERS:
                yield node.lineno, "yaml.load without SafeLoader"
        elif path[-1:] == ("Booster",) and "model_file" in keywords:
            yield node.lineno, "lightgbm.Booster(model_file=...)"


def test_package_never_unpickles_evaluates_or_loads_a_model() -> None:
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 30
    found = [
        f"{path.relative_to(SRC)}:{line}: {what}"
        for path in files
        for line, what in _unsafe_calls(ast.parse(path.read_text(), filename=str(path)))
    ]
    assert found == [], "unsafe loading or evaluation:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        "import pickle\npickle.loads(b'')",
        "from joblib import load",
        "import joblib\njoblib.load('m.pkl')",
        "import numpy as np\nnp.load('a.npy', allow_pickle=True)",
        "import pandas as pd\npd.read_pickle('f')",
        "import yaml\nyaml.load(text)",
        "import yaml\nyaml.load(text, Loader=yaml.Loader)",
        "eval('1')",
        "exec('x = 1')",
        "import cloudpickle",
        "import torch\ntorch.load('m.pt')",
        "mlflow.sklearn.load_model('runs:/x')",
        "lgb.Booster(model_file='m.txt')",
    ],
)
def test_the_scan_finds_each_unsafe_pattern(source: str) -> None:
    assert list(_unsafe_calls(ast.parse(source)))


@pytest.mark.parametrize(
    "source",
    [
        "import yaml\nyaml.load(text, Loader=yaml.SafeLoader)",
        "yaml.safe_load(text)",
        "np.load('a.npy')",
        "json.loads(text)",
        "from joblib import Parallel",
    ],
)
def test_the_scan_accepts_safe_calls(source: str) -> None:
    assert list(_unsafe_calls(ast.parse(source))) == []


# --- 3 and 4: a study on a hostile data file ----------------------------------------------------


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, StudyResult, Path]:
    """A study and a describe run on a file whose citizenship cells and name are formulas."""
    root = tmp_path_factory.mktemp("hostile")
    (root / "data").mkdir()
    clean = write_release_file(
        generate_synthetic(10_000, seed=3), root / "data" / "clean.csv", "synthetic_2024"
    )
    text = pd.read_csv(clean, dtype=str, keep_default_na=False)
    for i, value in enumerate(HOSTILE):  # 30 cells each: above k, so the data report lists them
        text.loc[i * 100 : i * 100 + 29, "citizenship"] = value
    path = root / "data" / "=HYPERLINK(1).csv"
    text.to_csv(path, index=False)
    spec = compose_spec(
        ["data=ctdc", f"data.path='{path}'", "model=both", "stability.n_boot=2",
         "stability.n_jobs=1", "cv.n_splits=3"]
    )  # fmt: skip
    result = run_study(spec, root / "run")
    run_describe(spec, root / "describe")
    return root, result, path


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _formula_cells(folder: Path) -> list[str]:
    """Every CSV cell in ``folder`` a spreadsheet would run as a formula (numbers are fine)."""
    found = []
    for path in sorted(folder.rglob("*.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            for line, row in enumerate(csv.reader(fh), start=1):
                found += [
                    f"{path.name}:{line}: {cell!r}"
                    for cell in row
                    if cell.startswith(FORMULA_START) and not _is_number(cell)
                ]
    return found


def test_hostile_values_were_read(hostile_run) -> None:
    _, result, _ = hostile_run
    shown = result.data_report.unmapped_countries["citizenship"]["values_with_at_least_k_cells"]
    assert set(HOSTILE) <= set(shown)  # they reach the run folder (data_report.json) ...


def test_no_csv_cell_of_a_run_is_a_formula(hostile_run) -> None:
    root, _, _ = hostile_run
    csvs = sorted(p.name for p in root.rglob("*.csv") if "data" not in p.parts)
    assert {"factors.csv", "cv_folds.csv", "headline.csv", "shap_subgroups.csv"} <= set(csvs)
    # ... and a value with a minus sign is in the tables: negative numbers stay numbers.
    negative = [
        cell
        for p in (root / "run").glob("*.csv")
        for row in csv.reader(p.open(newline=""))
        for cell in row
        if cell.startswith("-")
    ]
    assert negative and all(_is_number(c) for c in negative)
    assert _formula_cells(root / "run") == []
    assert _formula_cells(root / "describe") == []


def test_write_csv_escapes_formula_text_but_not_numbers(tmp_path: Path) -> None:
    header = ["=label", "value", "share"]
    rows = [[v, v, -0.5] for v in [*HOSTILE, "\t=1", "\r=1", "-1", "+1", "plain", "-"]]
    path = write_csv(tmp_path, "t.csv", header, [*rows, [None, -3, 0.25]], k=10)
    assert _formula_cells(tmp_path) == []
    read = list(csv.reader(path.open(newline="")))
    assert len(read) == len(rows) + 2
    assert read[0][0] == "'=label"
    assert read[1][:2] == ["'" + HOSTILE[0]] * 2
    assert [r[2] for r in read[1:-1]] == ["-0.5"] * len(rows)
    assert read[-1] == ["", "-3", "0.25"]


@pytest.mark.parametrize("value", ["x\r=cmd()", "x\r\n@SUM(1)", "x\n-2+cmd", "\r\r+1+cmd"])
def test_a_line_break_in_a_cell_never_starts_a_row(tmp_path: Path, value: str) -> None:
    # Python < 3.11.9 leaves a bare "\r" unquoted when the line terminator is "\n"; readers
    # then end the row there and the text after it becomes an unescaped first cell.
    path = write_csv(tmp_path, "t.csv", ["a", "b"], [[value, 1], ["next", 2]], k=10)
    read = list(csv.reader(path.open(newline="")))
    assert [r[1] for r in read] == ["b", "1", "2"]
    assert _formula_cells(tmp_path) == []


def test_a_run_writes_no_spreadsheet_workbook(hostile_run) -> None:
    root, _, _ = hostile_run
    assert [p for p in root.rglob("*") if p.suffix.lower() in (".xlsx", ".xlsm", ".xls")] == []


def test_saved_models_match_their_sha256(hostile_run) -> None:
    _, result, _ = hostile_run
    models = result.out_dir / "models"
    hashes = json.loads((models / "sha256.json").read_text())
    on_disk = {p.name for p in models.iterdir()} - {"sha256.json"}
    assert set(hashes) == on_disk
    assert {"lightgbm_model.txt", "logistic_coefficients.json"} <= on_disk
    for name, digest in hashes.items():
        assert hashlib.sha256((models / name).read_bytes()).hexdigest() == digest, name


def test_run_files_stay_inside_and_are_named_by_the_package(hostile_run) -> None:
    root, result, _ = hostile_run
    assert {p.name for p in root.iterdir()} == {"data", "run", "describe"}
    assert sorted(p.name for p in (root / "data").iterdir()) == ["=HYPERLINK(1).csv", "clean.csv"]
    run = result.out_dir.resolve()
    assert all(run in p.resolve().parents for p in result.files)
    # Output names are fixed by the package: none is built from a data value or the file name.
    names = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
    pattern = re.compile(r"(run|describe)/([a-z0-9_]+/)?[a-z0-9_]+\.(csv|json|md|html|png|txt)")
    outputs = [n for n in names if not n.startswith("data/")]
    assert outputs and [n for n in outputs if not pattern.fullmatch(n)] == []


# --- 4. output paths ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["../x.txt", "a/../../x.txt", "a/..", "/tmp/x.txt", "a\x00b.txt", "", "."]
)
def test_names_leaving_the_run_folder_are_refused(tmp_path: Path, name: str) -> None:
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(ValueError, match="run folder"):
        write_text(run, name, "x")
    assert list(run.iterdir()) == []
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    run, outside = tmp_path / "run", tmp_path / "outside"
    run.mkdir()
    outside.mkdir()
    return run, outside


def test_symlinked_file_pointing_outside_is_not_written_through(folders) -> None:
    run, outside = folders
    victim = outside / "victim.txt"
    victim.write_text("keep")
    (run / "factors.csv").symlink_to(victim)
    with pytest.raises(ValueError, match="outside the run folder"):
        write_text(run, "factors.csv", "overwritten")
    assert victim.read_text() == "keep"


def test_dangling_symlink_pointing_outside_creates_nothing(folders) -> None:
    run, outside = folders
    (run / "report.md").symlink_to(outside / "new.txt")
    with pytest.raises(ValueError, match="outside the run folder"):
        write_text(run, "report.md", "x")
    assert list(outside.iterdir()) == []


def test_symlinked_subfolder_pointing_outside_is_refused(folders) -> None:
    run, outside = folders
    (run / "models").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ValueError, match="outside the run folder"):
        write_text(run, "models/lightgbm_model.txt", "x")
    with pytest.raises(ValueError, match="outside the run folder"):
        write_text(run, "models/deeper/sha256.json", "x")
    assert list(outside.iterdir()) == []


def test_hard_link_at_the_target_name_is_replaced_not_written_through(folders) -> None:
    run, outside = folders
    victim = outside / "victim.txt"
    victim.write_text("keep")
    os.link(victim, run / "metrics.json")
    write_text(run, "metrics.json", "{}")  # inside the folder, so allowed: the name is replaced
    assert (run / "metrics.json").read_text() == "{}"
    assert victim.read_text() == "keep"


def test_links_that_stay_inside_the_folder_are_allowed(folders, tmp_path: Path) -> None:
    run, _ = folders
    (run / "figures").mkdir()
    (run / "latest").symlink_to(run / "figures", target_is_directory=True)
    write_text(run, "latest/a.txt", "x")
    assert (run / "figures" / "a.txt").read_text() == "x"
    linked_run = tmp_path / "link_to_run"
    linked_run.symlink_to(run, target_is_directory=True)  # a run folder reached through a link
    assert safe_path(linked_run, "b.txt") == linked_run / "b.txt"
    write_text(linked_run, "b.txt", "y")
    assert (run / "b.txt").read_text() == "y"
