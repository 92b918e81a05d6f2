import csv
import json
from pathlib import Path

import pytest

from ctdc_risk.outputs import escape_cell, safe_path, write_csv, write_json, write_text


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=x", '=HYPERLINK("x")'])
def test_formula_like_text_is_escaped(value):
    assert escape_cell(value) == "'" + value


def test_numbers_and_plain_text_untouched():
    assert escape_cell(-3) == -3
    assert escape_cell("Female") == "Female"


def test_csv_escapes_cells_and_round_trips(tmp_path: Path):
    path = write_csv(tmp_path, "t.csv", ["a", "b"], [["=cmd()", 1], [None, "x"]], k=10)
    rows = list(csv.reader(path.open()))
    assert rows == [["a", "b"], ["'=cmd()", "1"], ["", "x"]]


@pytest.mark.parametrize("name", ["../x.txt", "/tmp/x.txt", "a/../../x", ""])
def test_names_leaving_the_run_folder_are_refused(tmp_path: Path, name):
    with pytest.raises(ValueError, match="run folder"):
        safe_path(tmp_path, name)


def test_symlink_out_of_the_folder_is_refused(tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    run = tmp_path / "run"
    run.mkdir()
    (run / "link").symlink_to(outside)
    with pytest.raises(ValueError, match="outside the run folder"):
        safe_path(run, "link/file.txt")


def test_atomic_write_leaves_no_temp_file_and_replaces(tmp_path: Path):
    write_text(tmp_path, "r.md", "one")
    write_text(tmp_path, "r.md", "two")
    assert (tmp_path / "r.md").read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["r.md"]


def test_failed_write_keeps_previous_file(tmp_path: Path):
    write_json(tmp_path, "d.json", {"a": 1}, k=10)
    with pytest.raises(ValueError, match="JSON"):
        write_json(tmp_path, "d.json", {"a": float("nan")}, k=10)
    assert json.loads((tmp_path / "d.json").read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["d.json"]


def test_writers_refuse_counts_under_k_and_write_nothing(tmp_path: Path):
    from ctdc_risk.privacy import PrivacyViolationError

    with pytest.raises(PrivacyViolationError, match="n_with"):
        write_csv(tmp_path, "f.csv", ["factor", "n_with"], [["a", 12], ["b", 3]], k=10)
    with pytest.raises(PrivacyViolationError, match=r"groups\[1\]\.n"):
        write_json(tmp_path, "f.json", {"groups": [{"n": 40}, {"n": 2}]}, k=10)
    assert list(tmp_path.iterdir()) == []


def test_writers_accept_markers_zero_and_large_counts(tmp_path: Path):
    write_csv(tmp_path, "f.csv", ["n", "n_yes"], [["<10", 0], [10, 250]], k=10)
    write_json(tmp_path, "f.json", {"n": None, "n_family": "<10", "n_boot": 3}, k=10)


def test_run_folder_writes_through_its_floor(tmp_path: Path):
    from ctdc_risk.outputs import RunFolder
    from ctdc_risk.privacy import Floor, PrivacyViolationError

    folder = RunFolder(tmp_path, Floor(10))
    records = [{"group": "a", "n": 12}, {"group": "b", "n": Floor(10).count(3)}]
    path = folder.write_records("t.csv", ["n", "group"], records)
    assert path.read_text() == "n,group\n12,a\n<10,b\n"
    assert json.loads(folder.write_json("d.json", {"n": 0}).read_text()) == {"n": 0}
    with pytest.raises(PrivacyViolationError, match="'n'"):
        folder.write_records("bad.csv", ["n"], [{"n": 3}])
    with pytest.raises(PrivacyViolationError, match="n_yes"):
        folder.write_json("bad.json", {"n_yes": 9})
    assert not (tmp_path / "bad.csv").exists() and not (tmp_path / "bad.json").exists()
