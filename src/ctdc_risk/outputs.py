"""Writing run files: atomically, inside the run folder, injection-safe, privacy-guarded.

Every file a run writes goes through these helpers, so a crash or a full disk never leaves a
half-written file under its final name, spreadsheet programs never execute a cell, and no
table or JSON document publishes a record count under the privacy floor k. A folder that is
full or read-only is an :class:`~ctdc_risk.errors.OutputError` naming it. While a run is under
way its folder holds an ``INCOMPLETE`` file (:func:`mark_incomplete`), removed only once every
file is written (:func:`mark_complete`), so a folder left by a killed or failed run never looks
finished.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import socket
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ctdc_risk.errors import OutputError
from ctdc_risk.privacy import Floor

INCOMPLETE = "INCOMPLETE"
_FULL = (errno.ENOSPC, errno.EDQUOT)
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_path(out_dir: Path, name: str) -> Path:
    """``out_dir / name``, refusing names that would leave the folder."""
    if not name or Path(name).is_absolute() or ".." in Path(name).parts or "\x00" in name:
        raise ValueError(f"output name {name!r} would leave the run folder {out_dir}")
    target = out_dir / name
    resolved_dir = out_dir.resolve()
    if resolved_dir not in target.resolve().parents:
        raise ValueError(f"output name {name!r} resolves outside the run folder {out_dir}")
    return target


def write_text(out_dir: Path, name: str, text: str) -> Path:
    """Write ``text`` to ``out_dir/name`` atomically."""
    return write_bytes(out_dir, name, text.encode("utf-8"))


def write_bytes(out_dir: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to ``out_dir/name`` atomically (temp file, fsync, rename)."""
    target = safe_path(out_dir, name)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise _folder_error(exc, out_dir, name) from None
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _folder_error(exc, out_dir, name) from None
        raise
    return target


def _folder_error(exc: OSError, out_dir: Path, name: str) -> OSError | OutputError:
    """A full or read-only folder as an error saying so and what to do; others unchanged."""
    why = exc.strerror or str(exc)
    where = f"cannot write to {out_dir} ({name})"
    if exc.errno in _FULL:
        return OutputError(
            f"{where}: its disk is full ({why}). Free space there, or write the run elsewhere "
            "(ctdc-risk: hydra.run.dir=DIR, or hydra.sweep.dir=DIR for a sweep)."
        )
    if exc.errno in _READ_ONLY:
        return OutputError(
            f"{where}: the folder is read-only ({why}). Make it writable, or write the run "
            "elsewhere (ctdc-risk: hydra.run.dir=DIR, or hydra.sweep.dir=DIR for a sweep)."
        )
    return exc


def mark_incomplete(out_dir: Path, status: str) -> Path:
    """Write ``out_dir/INCOMPLETE``: the folder is not a finished run, and why (``status``:
    "running", or how it stopped). Raises :class:`OutputError` if the folder is full or
    read-only, so a run learns that before it starts."""
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    with contextlib.suppress(OSError, ValueError, StopIteration):  # keep the first start
        old = (out_dir / INCOMPLETE).read_text(encoding="utf-8")
        started = next(ln for ln in old.splitlines() if ln.startswith("started: "))[9:]
        started = started.split(" by process ")[0]
    text = (
        "This folder is not a finished ctdc-risk run: its files are missing or partial and are "
        "not results.\n"
        f"started: {started} by process {os.getpid()} on {socket.gethostname()}\n"
        f"status: {status}\n"
    )
    if status == "running":
        text += "(if that process is gone, the run was killed before it could say so)\n"
    return write_text(out_dir, INCOMPLETE, text)


def mark_complete(out_dir: Path) -> None:
    """Remove ``out_dir/INCOMPLETE``: every file of the run is written."""
    (out_dir / INCOMPLETE).unlink(missing_ok=True)


def check_writable(folder: Path) -> None:
    """Raise :class:`OutputError` naming ``folder`` if a file cannot be written there."""
    probe = write_bytes(folder, f".write-check-{os.getpid()}", b"ok\n")
    probe.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(out_dir: Path, name: str, data: Any, *, k: int) -> Path:
    """Write ``data`` as indented JSON (NaN refused: it is not JSON).

    Raises :class:`~ctdc_risk.privacy.PrivacyViolationError` (nothing written) if a count key holds
    a value under the privacy floor ``k``.
    """
    Floor(k).check_document(data, name)
    text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False, default=str) + "\n"
    return write_text(out_dir, name, text)


def escape_cell(value: object) -> object:
    """Prefix text that a spreadsheet would run as a formula with a quote.

    Examples
    --------
    >>> escape_cell("=HYPERLINK(1)")
    "'=HYPERLINK(1)"
    >>> escape_cell(-0.5)
    -0.5
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_csv(
    out_dir: Path, name: str, header: Sequence[str], rows: Iterable[Sequence[object]], *, k: int
) -> Path:
    """Write rows as CSV atomically, escaping formula-like text cells.

    A line break inside a cell is written as a line feed, so the cell is quoted and stays one
    cell in every reader.

    Raises :class:`~ctdc_risk.privacy.PrivacyViolationError` (nothing written) if a count column
    holds a value under the privacy floor ``k``.
    """
    rows = [list(r) for r in rows]
    Floor(k).check_table(header, rows, name)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([_csv_cell(h) for h in header])
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return write_text(out_dir, name, buf.getvalue())


def _csv_cell(value: object) -> object:
    # Python's csv writer before 3.11.9 quotes a cell only for the characters of its line
    # terminator ("\n" here): a bare "\r" left unquoted ends the row early in every reader and
    # starts a new row whose first cell is not escaped. A line feed is always quoted.
    if value is None:
        return ""
    value = escape_cell(value)
    if isinstance(value, str) and "\r" in value:
        return value.replace("\r\n", "\n").replace("\r", "\n")
    return value


@dataclass(frozen=True)
class RunFolder:
    """A run folder and the privacy floor every table and document written into it is held to.

    Stages hand it what they publish; it writes atomically, escapes spreadsheet formulas and
    refuses (:class:`~ctdc_risk.privacy.PrivacyViolationError`) a count under the floor.
    """

    path: Path
    floor: Floor

    def write_csv(self, name: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
        """Write rows as ``name`` (see :func:`write_csv`)."""
        return write_csv(self.path, name, header, rows, k=self.floor.k)

    def write_records(
        self, name: str, columns: Sequence[str], records: Iterable[Mapping[str, object]]
    ) -> Path:
        """Write mappings (a table's ``to_records()``) as CSV, one column per key."""
        return self.write_csv(name, columns, [[r[c] for c in columns] for r in records])

    def write_json(self, name: str, data: object) -> Path:
        """Write ``data`` as JSON (see :func:`write_json`)."""
        return write_json(self.path, name, data, k=self.floor.k)

    def write_text(self, name: str, text: str) -> Path:
        """Write ``text`` as ``name`` (no counts checked: reports are built from checked tables)."""
        return write_text(self.path, name, text)

    def write_bytes(self, name: str, data: bytes) -> Path:
        """Write ``data`` as ``name`` (figures)."""
        return write_bytes(self.path, name, data)
