"""Read a data file into a frame of raw text cells, refusing anything that would be misread.

Supported: CSV (UTF-8, UTF-8 with BOM, UTF-16, cp1252 / Latin-1; comma, semicolon, tab or pipe
delimited), gzip-compressed CSV, XLSX (first sheet or a named one) and Parquet. The format is
decided by the file's content, not its name, so an XLSX or gzip file named ``.csv`` still reads.

Every cell comes back as text (blank cells as ``""``) in a categorical column: CTDC columns hold a
handful of distinct values, so this keeps a million-row file small. Nothing is interpreted here:
``NA`` stays the two letters of Namibia, ``-99`` stays ``-99``.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import logging
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pandas as pd

from ctdc_risk.data.workbook import check_sheet_cells
from ctdc_risk.errors import DataFileError

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 1_000_000_000
_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_MAX_LISTED = 5
_BLOCK_SIZE = 1 << 20  # pyarrow's default; a row must fit in one block
_MAX_BLOCK_SIZE = (1 << 31) - 1  # pyarrow's block size is a 32-bit integer
_MAX_FIELD = (1 << 31) - 1  # csv.field_size_limit takes a C long; keep it portable


@dataclass(frozen=True)
class SourceInfo:
    """Where a table came from and how it was read (recorded in the data report)."""

    path: str
    name: str
    sha256: str
    n_bytes: int
    file_format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    sheets_available: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class RawTable:
    """A table as read: every column categorical text, blank cells as ``""``."""

    frame: pd.DataFrame
    source: SourceInfo
    row_lines: np.ndarray | None = None
    """Physical line where each data row starts, when rows span lines (quoted line breaks);
    ``None`` when row ``i`` is simply on line ``i + 2``."""

    @property
    def n_rows(self) -> int:
        return len(self.frame)

    def line_numbers(self) -> np.ndarray:
        """The line (CSV) or spreadsheet row (XLSX) of each data row; 1-based, header = 1."""
        if self.row_lines is not None:
            return self.row_lines
        offset = 1 if self.source.file_format == "parquet" else 2
        return np.arange(len(self.frame)) + offset


def read_table(
    path: str | os.PathLike[str],
    *,
    encoding: str = "auto",
    delimiter: str = "auto",
    sheet: str | int | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> RawTable:
    """Read a CSV, gzip CSV, XLSX or Parquet file into raw text columns.

    Parameters
    ----------
    path
        The data file.
    encoding
        Text encoding of a CSV file, or ``"auto"`` to detect UTF-8 (with or without BOM),
        UTF-16 (by BOM) and otherwise cp1252 / Latin-1.
    delimiter
        Field delimiter of a CSV file, or ``"auto"`` to detect it from the header line.
    sheet
        XLSX only: sheet name or 0-based index; default the first sheet.
    max_bytes
        Refuse files (or decompressed content) larger than this.

    Returns
    -------
    RawTable

    Raises
    ------
    DataFileError
        The path is not a readable regular file, is empty or too large, or the table is ragged,
        has duplicate or blank column names, or has no data rows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("citizenship,gender\\nNA,Female\\n")
    >>> read_table(p).frame["citizenship"].tolist()
    ['NA']
    """
    file_path = Path(path)
    data = _read_bytes(file_path, max_bytes)
    sha256 = hashlib.sha256(data).hexdigest()
    n_bytes = len(data)  # size of the file itself (like sha256), also when it is gzip
    notes: list[str] = []
    name = file_path.name
    suffix = name.lower()
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, file_path, max_bytes)
        if not suffix.endswith(".gz"):
            notes.append("file is gzip-compressed although its name does not end in .gz")
        fmt = "csv.gz"
    else:
        fmt = "csv"
    if data[:4] == b"PK\x03\x04":
        if not suffix.endswith(".xlsx"):
            notes.append("file is an XLSX workbook although its name does not end in .xlsx")
        frame, info = _read_xlsx(data, file_path, sheet)
        return _finish(frame, file_path, sha256, n_bytes, "xlsx", notes, **info)
    if data[:4] == b"PAR1":
        frame = _read_parquet(data, file_path)
        return _finish(frame, file_path, sha256, n_bytes, "parquet", notes)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise DataFileError(
            f"{file_path}: this is an old binary Excel (.xls) workbook, which is not supported; "
            "save it as .xlsx or CSV and try again."
        )
    text_bytes, enc = _to_utf8(data, file_path, encoding)
    if enc != "utf-8":
        notes.append(f"text encoding {enc} converted to UTF-8")
    frame, delim, row_lines = _read_csv(text_bytes, file_path, delimiter)
    table = _finish(frame, file_path, sha256, n_bytes, fmt, notes, encoding=enc, delimiter=delim)
    return RawTable(table.frame, table.source, row_lines)


def read_head_rows(
    path: str | os.PathLike[str],
    *,
    encoding: str = "auto",
    delimiter: str = "auto",
    sheet: str | int | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    n_rows: int = 30,
) -> list[list[list[str]]]:
    """The first rows of a CSV or XLSX file as text, to find a header that is not on row 1.

    A CSV file whose delimiter is ``"auto"`` is split once per candidate delimiter (a title
    line above the header gives no delimiter to detect), so the result holds one list of rows
    per way of reading; an XLSX sheet gives one. Parquet keeps its header apart from the data,
    so it gives none.
    """
    file_path = Path(path)
    data = _read_bytes(file_path, max_bytes)
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, file_path, max_bytes)
    if data[:4] == b"PK\x03\x04":
        return [_xlsx_head(data, file_path, sheet, n_rows)]
    if data[:4] == b"PAR1":
        return []
    text, _ = _to_utf8(data, file_path, encoding)
    head = text[: 1 << 20].decode("utf-8", errors="ignore")
    delimiters = _DELIMITERS if delimiter == "auto" else (delimiter,)
    out: list[list[list[str]]] = []
    with _field_size_limit(len(head)):
        for delim in delimiters:
            try:
                reader = csv.reader(io.StringIO(head, newline=""), delimiter=delim)
                out.append([row for _, row in zip(range(n_rows), reader, strict=False)])
            except (csv.Error, TypeError):
                continue
    return out


def _xlsx_head(data: bytes, path: Path, sheet: str | int | None, n_rows: int) -> list[list[str]]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = list(workbook.sheet_names)
        name = sheet if isinstance(sheet, str) else names[sheet or 0]
        rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False, nrows=n_rows)
    except Exception:  # calamine raises its own error types; the real read said what failed
        raise DataFileError(f"{path}: the XLSX workbook cannot be read.") from None
    return [[_cell_text(c) for c in row] for row in rows]


def _finish(
    frame: pd.DataFrame,
    path: Path,
    sha256: str,
    n_bytes: int,
    fmt: str,
    notes: list[str],
    **info: object,
) -> RawTable:
    if len(frame) == 0:
        raise DataFileError(
            f"{path}: the file has a header but no data rows; check that you chose the right file."
        )
    log.info("read %s: %d rows x %d columns (%s)", path.name, len(frame), frame.shape[1], fmt)
    source = SourceInfo(
        path=str(path),
        name=path.name,
        sha256=sha256,
        n_bytes=n_bytes,
        file_format=fmt,
        notes=tuple(notes),
        **info,  # type: ignore[arg-type]
    )
    return RawTable(frame=frame, source=source)


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise DataFileError(
            f"{path}: no such file; check data.path (relative paths are read from the "
            "directory you ran the command in)."
        ) from None
    except OSError as exc:
        raise DataFileError(f"{path}: cannot be read ({exc.strerror}).") from None
    if stat.S_ISDIR(st.st_mode):
        raise DataFileError(f"{path}: is a directory, not a data file; set data.path to a file.")
    if not stat.S_ISREG(st.st_mode):
        raise DataFileError(
            f"{path}: is not a regular file (a device, pipe or socket); "
            "set data.path to a CSV, XLSX or Parquet file."
        )
    if st.st_size == 0:
        raise DataFileError(f"{path}: the file is empty.")
    if st.st_size > max_bytes:
        raise DataFileError(
            f"{path}: the file is {st.st_size:,} bytes, over the limit of {max_bytes:,} "
            "(data.max_bytes); raise the limit if the file is right."
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataFileError(f"{path}: cannot be read ({exc.strerror}).") from None


def _gunzip(data: bytes, path: Path, max_bytes: int) -> bytes:
    out = io.BytesIO()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
            while chunk := fh.read(1 << 20):
                out.write(chunk)
                if out.tell() > max_bytes:
                    raise DataFileError(
                        f"{path}: decompressed content exceeds the limit of {max_bytes:,} bytes "
                        "(data.max_bytes)."
                    )
    except (OSError, EOFError, zlib.error) as exc:
        # zlib.error (a damaged deflate stream) is not an OSError, unlike a bad gzip header.
        raise DataFileError(f"{path}: the gzip data is damaged or truncated ({exc}).") from None
    result = out.getvalue()
    if not result:
        raise DataFileError(f"{path}: the compressed file is empty.")
    return result


def _to_utf8(data: bytes, path: Path, encoding: str) -> tuple[bytes, str]:
    """Return the text as UTF-8 bytes without BOM, and the encoding it was read with."""
    if encoding != "auto":
        try:
            text = data.decode(encoding)
        except LookupError:
            raise DataFileError(
                f"{path}: unknown encoding {encoding!r} in data.encoding; use e.g. utf-8, "
                "cp1252, latin-1, utf-16 or auto."
            ) from None
        except UnicodeDecodeError as exc:
            raise DataFileError(
                f"{path}: byte {exc.start:,} is not valid {encoding} (data.encoding); "
                "try data.encoding=auto."
            ) from None
        return text.lstrip("\ufeff").encode("utf-8"), encoding.lower()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        enc = "utf-8-sig"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16").encode("utf-8"), "utf-16"
        except UnicodeDecodeError:
            raise DataFileError(f"{path}: starts like UTF-16 but is not valid UTF-16.") from None
    else:
        enc = "utf-8"
    head = data[:4096]
    if b"\x00" in head:
        if head[1::2].count(0) > len(head) // 4:
            try:
                return data.decode("utf-16-le").encode("utf-8"), "utf-16-le"
            except UnicodeDecodeError:
                pass
        elif head[0::2].count(0) > len(head) // 4:
            try:
                return data.decode("utf-16-be").encode("utf-8"), "utf-16-be"
            except UnicodeDecodeError:
                pass
        raise DataFileError(
            f"{path}: contains NUL bytes and is not a text table; expected CSV, XLSX or Parquet."
        )
    if _is_utf8(data):
        return data, enc
    # Not UTF-8: CTDC exports made on Windows are cp1252; Latin-1 takes the bytes cp1252 leaves
    # undefined, so every byte sequence decodes to something.
    for fallback in ("cp1252", "latin-1"):
        try:
            return data.decode(fallback).encode("utf-8"), fallback
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _is_utf8(data: bytes, chunk: int = 1 << 24) -> bool:
    """Validate UTF-8 in chunks, so a large file is not held twice as a str."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(data), chunk):
            decoder.decode(view[start : start + chunk], final=False)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _header_line(text: bytes) -> str:
    # Lines may end in LF, CRLF or a bare CR (old Mac files), as the CSV reader allows.
    ends = [i for i in (text.find(b"\n"), text.find(b"\r")) if i >= 0]
    return text[: min(ends, default=len(text))].decode("utf-8")


def _detect_delimiter(header: str, path: Path) -> str:
    unquoted = re.sub(r'"[^"]*"', "", header)
    counts = {d: unquoted.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        raise DataFileError(
            f"{path}: the header line has a single column; the file is not delimited by comma, "
            "semicolon, tab or pipe. Set data.delimiter if it uses another delimiter."
        )
    return best


def _read_csv(
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
    header = _header_line(text)
    if delimiter == "auto":
        delim = _detect_delimiter(header, path)
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
def _field_size_limit(n_bytes: int) -> Iterator[None]:
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
    with _field_size_limit(len(text)):
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
        with _field_size_limit(len(text)):
            for row in reader:
                if row and len(row) != n_fields:
                    n_bad += 1
                    if len(bad) < _MAX_LISTED:
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


def check_column_names(names: list[str], path: Path) -> None:
    """Refuse blank or duplicate column names (pandas would rename duplicates silently)."""
    seen: dict[str, str] = {}
    dups: list[str] = []
    for i, name in enumerate(names, start=1):
        key = normalise_header(name)
        if not key:
            raise DataFileError(
                f"{path}: column {i} of the header has no name; every column needs a name."
            )
        if key in seen:
            dups.append(f"{seen[key]!r} and {name!r}" if seen[key] != name else repr(name))
        seen[key] = name
    if dups:
        raise DataFileError(
            f"{path}: duplicate column names in the header: {'; '.join(dups[:_MAX_LISTED])}. "
            "Each column must appear once."
        )


def normalise_header(name: str) -> str:
    """Key used to match a header to a release: case, spaces, dashes and underscores ignored."""
    return re.sub(r"[\s_\-]+", "", str(name)).lower()


def _read_xlsx(
    data: bytes, path: Path, sheet: str | int | None
) -> tuple[pd.DataFrame, dict[str, object]]:
    from python_calamine import CalamineWorkbook

    try:
        if not any(n.startswith("xl/") for n in zipfile.ZipFile(io.BytesIO(data)).namelist()):
            raise DataFileError(
                f"{path}: is a zip archive but not an XLSX workbook; unzip it first."
            )
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise DataFileError(f"{path}: the XLSX (zip) container is damaged.") from None
    except DataFileError:
        raise
    except Exception as exc:  # calamine raises its own error types
        raise DataFileError(
            f"{path}: the XLSX workbook cannot be read ({type(exc).__name__})."
        ) from None
    sheets = tuple(workbook.sheet_names)
    if not sheets:
        raise DataFileError(f"{path}: the XLSX workbook has no sheets.")
    if sheet is None:
        chosen = sheets[0]
    elif isinstance(sheet, int):
        if not 0 <= sheet < len(sheets):
            raise DataFileError(
                f"{path}: data.sheet={sheet} but the workbook has {len(sheets)} sheet(s): "
                f"{', '.join(sheets)}."
            )
        chosen = sheets[sheet]
    elif sheet in sheets:
        chosen = sheet
    else:
        raise DataFileError(
            f"{path}: no sheet named {sheet!r} (data.sheet); sheets are: {', '.join(sheets)}."
        )
    try:
        # A sheet's XML is parsed only now, so a damaged sheet fails here, not when opening.
        rows = list(workbook.get_sheet_by_name(chosen).to_python(skip_empty_area=False))
    except Exception as exc:  # calamine raises its own error types
        raise DataFileError(
            f"{path}: sheet {chosen!r} of the XLSX workbook cannot be read "
            f"({type(exc).__name__}); the file is damaged."
        ) from None
    try:
        check_sheet_cells(data, chosen, path)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ElementTree.ParseError) as exc:
        raise DataFileError(
            f"{path}: sheet {chosen!r} of the XLSX workbook cannot be read "
            f"({type(exc).__name__}); the file is damaged."
        ) from None
    while rows and all(_cell_text(c) == "" for c in rows[-1]):
        rows.pop()
    if not rows:
        raise DataFileError(f"{path}: sheet {chosen!r} is empty.")
    header = [_cell_text(c) for c in rows[0]]
    while header and header[-1] == "":
        header.pop()
    check_column_names(header, path)
    width = len(header)
    for i, row in enumerate(rows[1:], start=2):
        if any(_cell_text(c) != "" for c in row[width:]):
            raise DataFileError(
                f"{path}: sheet {chosen!r}, row {i} has values beyond the last named column "
                f"({width} columns in the header); the columns would shift."
            )
    body = [[_cell_text(c) for c in row[:width]] + [""] * (width - len(row)) for row in rows[1:]]
    frame = pd.DataFrame(body, columns=header, dtype=object).astype("category")
    return frame, {"sheet": chosen, "sheets_available": sheets}


def _cell_text(value: object) -> str:
    """Spreadsheet cell -> text as a CSV export would write it (whole floats without '.0')."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _read_parquet(data: bytes, path: Path) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # A damaged file fails in many places, each with its own error: reading (ArrowException is
    # the base of pyarrow's), decoding column names that are not UTF-8, and converting to pandas,
    # which parses the pandas metadata (JSON, dtype names) stored in the file.
    try:
        table = pq.read_table(io.BytesIO(data))
        names = list(table.column_names)
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise DataFileError(
            f"{path}: the Parquet file cannot be read ({type(exc).__name__})."
        ) from None
    check_column_names(names, path)
    try:
        frame = table.to_pandas()
        # pandas 3 keeps text columns in Arrow until they are used, so a cell that is not
        # UTF-8 would fail later, outside this check: make them Python strings here.
        text = [n for n in frame.columns if isinstance(frame[n].dtype, pd.StringDtype)]
        frame = frame.astype(dict.fromkeys(text, object))
    except (pa.ArrowException, ValueError, TypeError, KeyError) as exc:
        raise DataFileError(
            f"{path}: the Parquet file cannot be read ({type(exc).__name__})."
        ) from None
    out = {}
    for name in frame.columns:
        col = frame[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            col = col.astype(object)
        out[name] = col.map(_cell_text, na_action="ignore").fillna("").astype("category")
    return pd.DataFrame(out)
