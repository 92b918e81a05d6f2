"""Refuse XLSX sheets whose cells a reader would silently return as blank.

A formula cell stores its last computed value next to the formula; a workbook written by a
program (openpyxl, pandas, a script) stores none, and every reader, python-calamine included,
then returns a blank cell: a column of formulas reads as "not recorded". A merged range keeps its
value in its first cell only, and the others read as blank. No maintained Python library
computes Excel formulas reliably, so such sheets are refused with the fix, never guessed.

The sheet's XML is scanned in chunks for the two tags; only a sheet that has formulas is parsed
cell by cell, so an ordinary workbook costs one pass over bytes.
"""

from __future__ import annotations

import io
import logging
import posixpath
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from ctdc_risk.errors import DataFileError

log = logging.getLogger(__name__)

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")
_MERGE_REF = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?mergeCell\s[^>]*?ref=\"([A-Za-z]+\d+(?::[A-Za-z]+\d+)?)\""
)
_CHUNK = 1 << 20
_OVERLAP = 256
_MAX_SHOWN = 3


def check_sheet_cells(data: bytes, sheet: str, path: Path) -> None:
    """Raise :class:`DataFileError` if ``sheet`` has formulas without values or merged cells.

    Parameters
    ----------
    data
        The XLSX file's bytes.
    sheet
        Name of the sheet that will be read.
    path
        The file, for messages.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        part = _sheet_part(archive, sheet)
        if part is None:
            log.debug("sheet part not found in the workbook; cell checks skipped")
            return
        has_formulas, merged = _scan(archive, part)
        if merged:
            shown = ", ".join(sorted(merged)[:_MAX_SHOWN])
            raise DataFileError(
                f"{path}: sheet {sheet!r} has {len(merged):,} merged cell range(s) (e.g. {shown}); "
                "a merged range reads as blank except its first cell, so values would be lost. "
                "Unmerge the cells, fill each one with its value, save and try again (or export "
                "the sheet as CSV)."
            )
        if has_formulas:
            empty = _formulas_without_value(archive, part)
            if empty:
                shown = ", ".join(empty[:_MAX_SHOWN])
                raise DataFileError(
                    f"{path}: sheet {sheet!r} has {len(empty):,} formula cell(s) with no saved "
                    f"value (e.g. {shown}), which would read as blank. Open the workbook in Excel "
                    "or LibreOffice and save it (that stores each formula's value), or export the "
                    "sheet as CSV, and try again."
                )


def _sheet_part(archive: zipfile.ZipFile, sheet: str) -> str | None:
    """The zip member holding ``sheet``, from the workbook and its relationships."""
    try:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError):
        return None
    rel_id = next(
        (s.get(f"{_REL}id") for s in workbook.iter(f"{_MAIN}sheet") if s.get("name") == sheet),
        None,
    )
    target = next(
        (r.get("Target") for r in rels.iter(f"{_PKG_REL}Relationship") if r.get("Id") == rel_id),
        None,
    )
    if rel_id is None or not target:
        return None
    member = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
    member = posixpath.normpath(member)
    return member if member in archive.namelist() else None


def _scan(archive: zipfile.ZipFile, part: str) -> tuple[bool, set[str]]:
    """One pass over the sheet's bytes: any formula tag, and every merged range."""
    has_formulas = False
    merged: set[str] = set()
    tail = b""
    with archive.open(part) as fh:
        while chunk := fh.read(_CHUNK):
            window = tail + chunk
            # Plain byte searches first (a formula has a closing ``</f>`` and ``>`` inside cell
            # text is escaped): a regex over every chunk would double the cost.
            if not has_formulas and b"f>" in window:
                has_formulas = _FORMULA_TAG.search(window) is not None
            if b"mergeCell" in window:
                # A tag cut by a chunk boundary is whole in the next window (overlap); the set
                # drops a range seen twice.
                merged.update(m.decode("ascii") for m in _MERGE_REF.findall(window))
            tail = window[-_OVERLAP:]
    return has_formulas, merged


def _formulas_without_value(archive: zipfile.ZipFile, part: str) -> list[str]:
    """References of formula cells with no cached value (a string result may be empty)."""
    found: list[str] = []
    with archive.open(part) as fh:
        for _, elem in ElementTree.iterparse(fh, events=("end",)):
            if elem.tag == f"{_MAIN}row":
                elem.clear()  # keep memory flat on a large sheet
            if elem.tag != f"{_MAIN}c":
                continue
            if elem.find(f"{_MAIN}f") is not None:
                value = elem.find(f"{_MAIN}v")
                cached = value is not None and (bool(value.text) or elem.get("t") == "str")
                if not cached:
                    found.append(elem.get("r") or "?")
            elem.clear()
    return found
