"""A damaged, read-only or full store as one line naming it, never a database traceback."""

from __future__ import annotations

import errno
import logging
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ctdc_risk.errors import TrackingError

OTHER_STORE = "choose another store with tracking.tracking_uri=URI, or run without tracking: "
_FULL = (errno.ENOSPC, errno.EDQUOT)
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


def redact(uri: str) -> str:
    """Hide a password in a URI (``postgresql://user:secret@host`` -> ``user:***@host``)."""
    return re.sub(r"(//[^/:@]+):[^@/]*@", r"\1:***@", uri)


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (None for other stores and in-memory ones)."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///") :].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__


def _store_fault(exc: BaseException) -> tuple[str, str] | None:
    """``(kind, reason)`` when ``exc`` says the store itself is damaged ("damaged"), cannot be
    written ("read-only") or has no room ("full"); None for any other error."""
    for link in _chain(exc):
        if isinstance(link, OSError) and link.errno in _FULL:
            return "full", link.strerror or "no space left"
        if isinstance(link, OSError) and link.errno in _READ_ONLY:
            return "read-only", link.strerror or "permission denied"
        if isinstance(link, sqlite3.Error):
            text = str(link)
            if "not a database" in text or "malformed" in text:
                return "damaged", text
            if "readonly" in text or "unable to open database" in text:
                return "read-only", text
            if "disk is full" in text:
                return "full", text
            if "disk I/O error" in text:
                return "full", f"{text}: full or failing disk?"
    return None


def _store_error(exc: BaseException, where: str, path: Path | None) -> TrackingError | None:
    fault = _store_fault(exc)
    if fault is None:
        return None
    kind, reason = fault
    if kind == "damaged":
        aside = f"move {path} aside (a new store is made in its place)" if path else "repair it"
        return TrackingError(
            f"{where} is damaged ({reason}). To keep tracking, {aside}, {OTHER_STORE}tracking=none."
        )
    if kind == "read-only":
        return TrackingError(
            f"{where} cannot be written ({reason}). Make it and its folder writable, "
            f"{OTHER_STORE}tracking=none."
        )
    return TrackingError(
        f"{where} cannot be written: its disk is full ({reason}). Free space there, "
        f"{OTHER_STORE}tracking=none."
    )


class _QuietStoreErrors(logging.Filter):
    """MLflow logs a database error's whole traceback before raising it; the error is then
    turned into one line naming the store, so the logged copy only buries it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("SQLAlchemy database error")


_QUIET = _QuietStoreErrors()


@contextmanager
def store_faults(uri: str, *, artifacts: str | None = None) -> Iterator[None]:
    """Turn a damaged, read-only or full store (its database or, with ``artifacts``, its
    artifact folder) into a :class:`TrackingError` naming it and what to do."""
    store_logger = logging.getLogger("mlflow.store.db.utils")
    if _QUIET not in store_logger.filters:
        store_logger.addFilter(_QUIET)
    try:
        yield
    except TrackingError:
        raise
    except Exception as exc:
        where = f"MLflow store {redact(uri)}"
        if artifacts and isinstance(exc, OSError):
            where = f"MLflow artifact store {redact(artifacts)}"
        error = _store_error(exc, where, sqlite_path(uri))
        if error is None:
            raise
        raise error from None
