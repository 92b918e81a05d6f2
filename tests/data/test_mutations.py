"""Property: a mutated CTDC file is either refused cleanly or loads as a valid canonical frame.

Small valid files of every release are written with the package's own raw writers, in several
shapes (UTF-8, UTF-16 and cp1252 CSV; comma, semicolon and tab delimited; gzip; XLSX; Parquet).
Hypothesis then damages them the ways files get damaged in practice: flipped, inserted and
deleted bytes, truncation, deleted, duplicated and swapped lines, cells replaced by odd text
(unicode, ``-99``, blanks, formulas), changed delimiters, edited header names and line endings.

Whatever the damage, :func:`~ctdc_risk.data.load.load_dataset` must either return a dataset
(which it has validated against the canonical schema) or raise a
:class:`~ctdc_risk.errors.CtdcRiskError` whose message names the file. Any other exception is a
crash a CLI user would see as a traceback.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import math
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from ctdc_risk.data.load import load_dataset
from ctdc_risk.data.raw_format import write_release_file
from ctdc_risk.data.synthetic import generate_synthetic
from ctdc_risk.errors import CtdcRiskError

RELEASES = ("global_2017_2021", "synthetic_2021", "synthetic_2024", "ctdc_risk_canonical")
TEXT_CONTAINERS = ("csv", "csv-utf16", "csv-cp1252", "csv.gz")
CONTAINERS = (*TEXT_CONTAINERS, "xlsx", "parquet")
DELIMITERS = (",", ";", "\t")
N_ROWS = 6

MUTATIONS = settings(
    max_examples=1_000,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)

# Cell texts that CTDC files hold, nearly hold, or that a damaged or hostile file might hold.
ODD_CELLS = (
    "", " ", "-99", "-99.0", '"-99"', "-99,0", "NA", "na", "00", "1", "0", "2", "yes", "1.0",
    "Unknown", "9-17", "9\u201417", "48 +", "30--38", "Woman", "Minor", "1900", "2099", "2015",
    "=HYPERLINK(\"http://example.org\",\"x\")", "+1", "@SUM(A1)", "C\u00f4te d'Ivoire", "NAM",
    "Family/Relative;Neighbour", "\u202e", "\ufeff", "\x00", "\r", "\n", '"', "a,b", "a;b",
)  # fmt: skip
CELL_TEXT = st.one_of(st.sampled_from(ODD_CELLS), st.text(max_size=12))
INDEX = st.integers(min_value=0, max_value=10_000)

# Mutations of the table's text: (name, *arguments). Positions are taken modulo the size of
# what they point into, so one strategy serves files of every shape.
TEXT_MUTATIONS = st.one_of(
    st.tuples(st.just("delete_line"), INDEX),
    st.tuples(st.just("duplicate_line"), INDEX),
    st.tuples(st.just("swap_lines"), INDEX, INDEX),
    st.tuples(st.just("blank_line"), INDEX),
    st.tuples(st.just("replace_cell"), INDEX, INDEX, CELL_TEXT),
    st.tuples(st.just("replace_column"), INDEX, CELL_TEXT),
    st.tuples(st.just("delete_cell"), INDEX, INDEX),
    st.tuples(st.just("insert_cell"), INDEX, INDEX, CELL_TEXT),
    st.tuples(st.just("rename_header"), INDEX, CELL_TEXT),
    st.tuples(st.just("respell_header"), INDEX, st.sampled_from(["upper", "spaced", "copy"])),
    st.tuples(st.just("delimiter"), st.sampled_from([*DELIMITERS, "|", " "]), st.booleans()),
    st.tuples(st.just("line_ending"), INDEX, st.sampled_from(["crlf", "cr"])),
    st.tuples(st.just("quote"), INDEX, INDEX),
)
BYTE_MUTATIONS = st.one_of(
    st.tuples(st.just("flip"), INDEX, st.integers(0, 255)),
    st.tuples(st.just("insert"), INDEX, st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), INDEX, st.integers(1, 16)),
    st.tuples(st.just("truncate"), INDEX),
)


@functools.cache
def _base_frames() -> dict[str, list[list[str]]]:
    """Each release's raw text table (header first), written by the package's own writer."""
    frame = generate_synthetic(1_000, seed=17).head(N_ROWS)
    tables: dict[str, list[list[str]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for release in RELEASES:
            path = write_release_file(frame, Path(tmp) / f"{release}.csv", release)
            with path.open(newline="", encoding="utf-8") as fh:
                tables[release] = [list(row) for row in csv.reader(fh)]
    return tables


def _csv_lines(rows: Sequence[Sequence[str]], delimiter: str) -> list[str]:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buf.getvalue().split("\n")[:-1]


def _mutate_text(lines: list[str], delimiter: str, op: tuple[Any, ...]) -> tuple[list[str], str]:
    """Apply one text mutation to the lines of a delimited file; return lines and delimiter."""
    name, *args = op
    if name == "delimiter":
        new, everywhere = args
        if everywhere:
            return [line.replace(delimiter, new) for line in lines], new
        if lines:  # one row only: it no longer splits like the header
            lines[-1] = lines[-1].replace(delimiter, new)
        return lines, delimiter
    if not lines:
        return lines, delimiter
    n = len(lines)
    i = args[0] % n
    if name == "delete_line":
        del lines[i]
    elif name == "duplicate_line":
        lines.insert(i, lines[i])
    elif name == "swap_lines":
        j = args[1] % n
        lines[i], lines[j] = lines[j], lines[i]
    elif name == "blank_line":
        lines.insert(i, "")
    elif name == "line_ending":
        if args[1] == "crlf":
            lines[i] += "\r"
        elif i + 1 < n:  # a bare CR (old Mac line end) between two lines
            lines[i] += "\r" + lines.pop(i + 1)
    elif name == "replace_column":
        for k in range(1, n):
            _edit_cell(lines, k, args[0], delimiter, lambda _: args[1])
    elif name == "replace_cell":
        _edit_cell(lines, i, args[1], delimiter, lambda _: args[2])
    elif name == "quote":
        _edit_cell(lines, i, args[1], delimiter, lambda cell: '"' + cell)
    elif name == "delete_cell":
        cells = lines[i].split(delimiter)
        del cells[args[1] % len(cells)]
        lines[i] = delimiter.join(cells)
    elif name == "insert_cell":
        cells = lines[i].split(delimiter)
        cells.insert(args[1] % (len(cells) + 1), args[2])
        lines[i] = delimiter.join(cells)
    elif name == "rename_header":
        _edit_cell(lines, 0, args[0], delimiter, lambda _: args[1])
    else:  # respell_header
        header = lines[0].split(delimiter)
        respell = {
            "upper": str.upper,
            "spaced": lambda cell: f" {cell[:1]} {cell[1:]} ",
            "copy": lambda _: header[(args[0] + 1) % len(header)],  # a duplicate name
        }[args[1]]
        _edit_cell(lines, 0, args[0], delimiter, respell)
    return lines, delimiter


def _edit_cell(
    lines: list[str], line: int, column: int, delimiter: str, edit: Callable[[str], str]
) -> None:
    """Replace one cell of a line split naively on the delimiter (quotes may break: fine)."""
    cells = lines[line].split(delimiter)
    j = column % len(cells)
    cells[j] = edit(cells[j])
    lines[line] = delimiter.join(cells)


def _mutate_bytes(data: bytes, op: tuple[Any, ...]) -> bytes:
    name, pos, *args = op
    if not data:
        return data
    i = pos % len(data)
    if name == "flip":
        return data[:i] + bytes([args[0]]) + data[i + 1 :]
    if name == "insert":
        return data[:i] + bytes(args[0]) + data[i:]
    if name == "delete":
        return data[:i] + data[i + args[0] :]
    return data[:i]  # truncate


def _excel_value(text: str) -> str | int | float:
    """Numbers as numbers (as in CTDC's own workbooks), text without XML-illegal characters."""
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        return str(ILLEGAL_CHARACTERS_RE.sub("", text))
    return int(number) if number.is_integer() and "." not in text else number


def _container(text: str, delimiter: str, container: str) -> bytes:
    """The mutated table as the bytes of ``container``."""
    if container == "csv":
        return text.encode("utf-8")
    if container == "csv-utf16":
        return text.encode("utf-16")
    if container == "csv-cp1252":
        return text.encode("cp1252", errors="replace")
    if container == "csv.gz":
        return gzip.compress(text.encode("utf-8"), mtime=0)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    rows = [row for row in rows if row] or [[""]]
    buf = io.BytesIO()
    if container == "xlsx":
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("data")
        for row in rows:
            sheet.append([_excel_value(cell) for cell in row])
        workbook.save(buf)
    else:
        header = rows[0]
        body = [(row + [""] * len(header))[: len(header)] for row in rows[1:]]
        columns = [pa.array([row[k] for row in body], pa.string()) for k in range(len(header))]
        pq.write_table(pa.Table.from_arrays(columns, names=header), buf)
    return buf.getvalue()


_EXTENSION = {"csv-utf16": "csv", "csv-cp1252": "csv", "csv.gz": "csv.gz"}


@st.composite
def mutated_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """A file name and the bytes of a damaged CTDC file."""
    release = draw(st.sampled_from(RELEASES))
    container = draw(st.sampled_from(CONTAINERS))
    delimiter = draw(st.sampled_from(DELIMITERS)) if container in TEXT_CONTAINERS else ","
    lines = _csv_lines(_base_frames()[release], delimiter)
    for op in draw(st.lists(TEXT_MUTATIONS, max_size=3)):
        lines, delimiter = _mutate_text(lines, delimiter, op)
    data = _container("\n".join(lines) + "\n", delimiter, container)
    # Byte damage in one example of three: it nearly always breaks a gzip, XLSX or Parquet
    # container, and the loaded-and-valid outcome needs its share of examples too.
    if draw(st.integers(0, 2)) == 2:
        for op in draw(st.lists(BYTE_MUTATIONS, min_size=1, max_size=3)):
            data = _mutate_bytes(data, op)
    named_as = draw(st.sampled_from(["csv", _EXTENSION.get(container, container)]))
    return f"{release}.{named_as}", data


@pytest.mark.slow
@MUTATIONS
@given(case=mutated_files())
def test_a_mutated_file_is_refused_cleanly_or_loads_valid(
    tmp_path: Path, case: tuple[str, bytes]
) -> None:
    name, data = case
    path = tmp_path / name
    path.write_bytes(data)
    try:
        dataset = load_dataset(path)
    except CtdcRiskError as exc:
        message = str(exc)
        assert str(path) in message, message
        assert "Traceback" not in message
        # The schema check after harmonisation is a bug guard, never a user's error.
        assert "canonical schema" not in message, message
        event(f"rejected: {type(exc).__name__}")
    else:
        assert 0 < len(dataset.frame) == dataset.report.rows_out <= dataset.report.rows_read
        event(f"accepted: {dataset.release_id}")
    finally:
        path.unlink()
