"""``ctdc-risk audit RUN_DIR [RUN_DIR ...] [privacy.k=K]``: exit 0 clean, 1 findings, 2 misuse.

Needs no config: it reads what a finished run published, so it runs outside Hydra.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn


def main(args: list[str]) -> NoReturn:
    """Audit each run folder named in ``args`` and exit with the verdict."""
    from ctdc_risk.audit import AuditError, audit_run

    k: int | None = None
    folders = []
    for arg in args:
        if arg.startswith("privacy.k="):
            value = arg.split("=", 1)[1]
            if not value.isdigit() or int(value) < 1:
                _misuse(f"privacy.k must be a whole number; got {value!r}.")
            k = int(value)
        else:
            folders.append(Path(arg))
    if not folders:
        _misuse("give a run folder: ctdc-risk audit RUN_DIR")
    failed = False
    for folder in folders:
        try:
            report = audit_run(folder, k=k)
        except (AuditError, OSError, ValueError) as exc:
            _misuse(f"error: {exc}")
        print("\n".join(report.lines()))
        failed = failed or not report.ok
    raise SystemExit(1 if failed else 0)


def _misuse(message: str) -> NoReturn:
    print(f"ctdc-risk audit: {message}", file=sys.stderr)
    raise SystemExit(2) from None
