"""Parse CSV text (already UTF-8) into a frame of raw text cells, or say exactly where it breaks.

The delimiter is detected from the header line unless given; pyarrow parses, and a row that
does not fit the header is located and named with its line before anything is returned.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from ctdc_risk.data.header import MAX_LISTED, check_column_names
from ctdc_risk.errors import DataFileError

log = logging.getLogger(__name__)

DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_BLOCK_SIZE = 1 << 20  # pyarrow's default; a row must fit in one block
_MAX_BLOCK_SIZE = (1 << 31) - 1  # pyarrow's block size is a 32-bit integer
_MAX_FIELD = (1 << 31) - 1  # csv.field_size_limit takes a C long; keep it portable


def header_line(text: bytes) -> str:
    # Lines may end in LF, CRLF or a bare CR (old Mac files), as the CSV reader allows.
    ends = [i for i in (text.find(b"\n"), text.find(b"\r")) if i >= 0]
    return text[: min(ends, default=len(text))].decode("utf-8")


def detect_delimiter(header: str, path: Path) -> str:
    unquoted = re.sub(r'"[^"]*"', "", header)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        raise DataFileError(
            f"{path}: the header line has a single column; the file is not delimited by comma, "
            "semicolon, tab or pipe. Set data.delimiter if it uses another delimiter."
        )
    return best


def read_csv(
    text: bytes, path: Path, delimiter: str
) -> tuple[pd.DataFrame, str, np.ndarray | None]:
    import pyarrow as pa
    from pyarrow import csv as pacsv

    # Blank lines at the very end are an editor's habit, not data; slice them off without
    # copying the file.
    end = len(text)
    while end and text[end - 1] in b"\r\n":
        end -= 1
    if not text[:4096].strip() and not text[:end].strip():
        raise DataFileError(f"{path}: the file holds only blank space.")
    header = header_line(text)
    if delimiter == "auto":
        delim = detect_delimiter(header, path)
    elif len(delimiter) == 1:
        delim = delimiter
    else:
        raise DataFileError(
            f"{path}: data.delimiter must be one character or 'auto', got {delimiter!r}."
        )
    names = next(csv.reader([header], delimiter=delim))
    check_column_names(names, path)
    if text.find(b"\n", 0, end) < 0 and text.find(b"\r", 0, end) < 0:
        # Only the header is left once trailing line breaks are cut (pyarrow would fail on it).
        raise DataFileError(
            f"{path}: the file has a header but no data rows; check that you chose the right file."
        )
    column_types = {n: pa.dictionary(pa.int32(), pa.string()) for n in names}
    # A quoted field may hold a line break, and pyarrow then must not cut the file into blocks
    # at line breaks (or a valid file fails to parse); that is slower, so only with quotes.
    n_quotes = text.count(b'"')

    def parse(block_size: int) -> pa.Table:
        return pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(memoryview(text)[:end])),
            read_options=pacsv.ReadOptions(
                column_names=names, skip_rows=1, use_threads=True, block_size=block_size
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delim, ignore_empty_lines=False, newlines_in_values=n_quotes > 0
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=column_types,
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )

    try:
        try:
            table = parse(_BLOCK_SIZE)
        except pa.ArrowInvalid as exc:
            # A row longer than a block (one very long cell) does not fit pyarrow's block: read
            # the file as one block instead, which every valid row fits.
            if "straddl" not in str(exc) or end < _BLOCK_SIZE:
                raise
            table = parse(min(end + 1, _MAX_BLOCK_SIZE))
    except pa.ArrowInvalid:
        # pyarrow's message quotes the offending row; find the line ourselves instead, so no
        # cell value reaches the terminal or a log.
        raise _locate_parse_error(text, path, delim, len(names)) or DataFileError(
            f"{path}: the CSV could not be parsed with the {_DELIMITER_NAMES.get(delim, delim)} "
            "delimiter; check the file's quoting and delimiter (data.delimiter)."
        ) from None
    if n_quotes % 2:
        # pyarrow silently closes a quote still open at the end of the file, so the rest of the
        # file becomes one cell. An odd number of quotes is the cheap sign to look closer.
        problem = _locate_parse_error(text, path, delim, len(names))
        if problem is not None:
            raise problem
    frame = table.to_pandas()
    row_lines = None
    if text.count(b"\n", 0, end) != len(frame):
        # Some row spans lines (a quoted line break) or lines end in a bare CR: number rows by
        # the line they start on, so error messages point at the right place.
        row_lines = _row_start_lines(text[:end], delim)
    return frame, delim, row_lines


@contextmanager
def field_size_limit(n_bytes: int) -> Iterator[None]:
    """Let Python's CSV reader take a field as long as the file (its default is 128 KiB)."""
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, min(n_bytes + 1, _MAX_FIELD)))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _row_start_lines(text: bytes, delim: str) -> np.ndarray:
    reader = csv.reader(io.StringIO(text.decode("utf-8"), newline=""), delimiter=delim)
    starts: list[int] = []
    start = 1
    with field_size_limit(len(text)):
        for _ in reader:
            starts.append(start)
            start = reader.line_num + 1
    return np.array(starts[1:], dtype=np.int64)


def _locate_parse_error(text: bytes, path: Path, delim: str, n_fields: int) -> DataFileError | None:
    """Describe the first badly quoted or ragged row, or return ``None`` if there is none.

    Lines are numbered where the offending row starts. Empty lines are not ragged: the reader
    keeps them as blank rows, which harmonisation drops and counts.
    """
    reader = csv.reader(io.StringIO(text.decode("utf-8"), newline=""), delimiter=delim, strict=True)
    bad: list[tuple[int, int]] = []
    n_bad = 0
    start = 1
    try:
        with field_size_limit(len(text)):
            for row in reader:
                if row and len(row) != n_fields:
                    n_bad += 1
                    if len(bad) < MAX_LISTED:
                        bad.append((start, len(row)))
                start = reader.line_num + 1
    except csv.Error:
        return DataFileError(
            f"{path}: line {start}: a quoted field is not closed or a quote is misplaced "
            "(unbalanced quote); fix the quoting and try again."
        )
    if not bad:
        return None
    line, got = bad[0]
    if got == 1 and n_fields > 1:
        what = "is blank or has no delimiter"
    else:
        what = f"has {got} fields but the header has {n_fields}"
    more = f" ({n_bad} such rows in all; lines {', '.join(str(ln) for ln, _ in bad)}...)"
    return DataFileError(
        f"{path}: line {line} {what}{more if n_bad > 1 else ''}. Rows must have as many fields "
        "as the header, or the columns would shift."
    )
