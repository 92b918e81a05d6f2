"""Read spreadsheets and columnar files: XLSX (through python-calamine) and Parquet.

Cells come back as text, as a CSV export would write them, so every format reaches
harmonisation in the same shape.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path
from xml.etree import ElementTree

import pandas as pd

from ctdc_risk.data.header import check_column_names
from ctdc_risk.data.workbook import check_sheet_cells
from ctdc_risk.errors import DataFileError


def xlsx_head(data: bytes, path: Path, sheet: str | int | None, n_rows: int) -> list[list[str]]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = list(workbook.sheet_names)
        name = sheet if isinstance(sheet, str) else names[sheet or 0]
        rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False, nrows=n_rows)
    except Exception:  # calamine raises its own error types; the real read said what failed
        raise DataFileError(f"{path}: the XLSX workbook cannot be read.") from None
    return [[cell_text(c) for c in row] for row in rows]


def read_xlsx(
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
    while rows and all(cell_text(c) == "" for c in rows[-1]):
        rows.pop()
    if not rows:
        raise DataFileError(f"{path}: sheet {chosen!r} is empty.")
    header = [cell_text(c) for c in rows[0]]
    while header and header[-1] == "":
        header.pop()
    check_column_names(header, path)
    width = len(header)
    for i, row in enumerate(rows[1:], start=2):
        if any(cell_text(c) != "" for c in row[width:]):
            raise DataFileError(
                f"{path}: sheet {chosen!r}, row {i} has values beyond the last named column "
                f"({width} columns in the header); the columns would shift."
            )
    body = [[cell_text(c) for c in row[:width]] + [""] * (width - len(row)) for row in rows[1:]]
    frame = pd.DataFrame(body, columns=header, dtype=object).astype("category")
    return frame, {"sheet": chosen, "sheets_available": sheets}


def cell_text(value: object) -> str:
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


def read_parquet(data: bytes, path: Path) -> pd.DataFrame:
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
        out[name] = col.map(cell_text, na_action="ignore").fillna("").astype("category")
    return pd.DataFrame(out)
