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
import stat
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ctdc_risk.data.csv_text import DELIMITERS, field_size_limit, read_csv
from ctdc_risk.data.sheets import read_parquet, read_xlsx, xlsx_head
from ctdc_risk.errors import DataFileError

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 1_000_000_000


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
        frame, info = read_xlsx(data, file_path, sheet)
        return _finish(frame, file_path, sha256, n_bytes, "xlsx", notes, **info)
    if data[:4] == b"PAR1":
        frame = read_parquet(data, file_path)
        return _finish(frame, file_path, sha256, n_bytes, "parquet", notes)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise DataFileError(
            f"{file_path}: this is an old binary Excel (.xls) workbook, which is not supported; "
            "save it as .xlsx or CSV and try again."
        )
    text_bytes, enc = _to_utf8(data, file_path, encoding)
    if enc != "utf-8":
        notes.append(f"text encoding {enc} converted to UTF-8")
    frame, delim, row_lines = read_csv(text_bytes, file_path, delimiter)
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
        return [xlsx_head(data, file_path, sheet, n_rows)]
    if data[:4] == b"PAR1":
        return []
    text, _ = _to_utf8(data, file_path, encoding)
    head = text[: 1 << 20].decode("utf-8", errors="ignore")
    delimiters = DELIMITERS if delimiter == "auto" else (delimiter,)
    out: list[list[list[str]]] = []
    with field_size_limit(len(head)):
        for delim in delimiters:
            try:
                reader = csv.reader(io.StringIO(head, newline=""), delimiter=delim)
                out.append([row for _, row in zip(range(n_rows), reader, strict=False)])
            except (csv.Error, TypeError):
                continue
    return out


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
