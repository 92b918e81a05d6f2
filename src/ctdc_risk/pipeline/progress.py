"""How a study reports its progress: named steps, some with a count of units to do.

The terminal implements :class:`Progress` with rich progress bars (``ctdc_risk.cli.console``);
a notebook or a script may pass any object with ``step`` and ``advance``, a plain function of
one message (the older protocol, still accepted), or nothing (steps go to the log).

Examples
--------
>>> messages = []
>>> progress = as_progress(messages.append)
>>> progress.step("bootstrap", total=2)
>>> progress.advance()
>>> progress.advance()
>>> messages
['bootstrap', 'bootstrap: 1 of 2 done', 'bootstrap: 2 of 2 done']
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol, runtime_checkable

log = logging.getLogger(__name__)


@runtime_checkable
class Progress(Protocol):
    """Receives a study's steps and the units done within each."""

    def step(self, name: str, total: int | None = None) -> None:
        """A new step begins (ending the previous one); ``total`` units when countable."""

    def advance(self, n: int = 1) -> None:
        """``n`` more units of the current step are done."""


class MessageProgress:
    """:class:`Progress` over a function of one message: each step and each unit is a line."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self._say = say
        self._name = ""
        self._total: int | None = None
        self._done = 0

    def step(self, name: str, total: int | None = None) -> None:
        self._name, self._total, self._done = name, total, 0
        self._say(name)

    def advance(self, n: int = 1) -> None:
        self._done += n
        of = f" of {self._total}" if self._total else ""
        self._say(f"{self._name}: {self._done}{of} done")


def _log(message: str) -> None:
    log.info("%s", message)


ProgressLike = Progress | Callable[[str], None] | None


def as_progress(progress: ProgressLike) -> Progress:
    """A :class:`Progress` for whatever ``run_study`` was given (None: the log)."""
    if progress is None:
        return MessageProgress(_log)
    if isinstance(progress, Progress):
        return progress
    return MessageProgress(progress)
