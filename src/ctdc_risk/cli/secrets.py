"""Keep passwords in tracking URIs out of saved configs and logs.

Hydra saves the composed config and the overrides in the run folder (``.hydra/*.yaml``, and
``multirun.yaml`` for a sweep) and logs each sweep job's overrides; a
``tracking.tracking_uri=https://user:password@host`` would land in all of them, and from the run
folder in MLflow's artifacts. :func:`hide_secrets` rewrites those files with the password
replaced by ``***`` and makes every log handler do the same.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ctdc_risk.outputs import write_text
from ctdc_risk.tracking import redact


class _RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_FILTER = _RedactFilter()


def hide_secrets(folder: Path | None) -> None:
    """Redact URI passwords in ``folder``'s saved configs and in every log line from now on."""
    for handler in logging.getLogger().handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    if folder is None:
        return
    for path in [*folder.glob(".hydra/*.yaml"), *folder.glob("multirun.yaml")]:
        text = path.read_text(encoding="utf-8")
        clean = redact(text)
        if clean != text:
            write_text(path.parent, path.name, clean)
