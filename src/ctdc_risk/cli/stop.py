"""Stopping a run cleanly: Ctrl-C, SIGTERM, and a sweep job whose launcher died.

A stop signal sets :attr:`StopSignal.reason` and raises ``KeyboardInterrupt``; every step of a
run checks the reason too, so a stop whose exception Python swallowed (it fell in a
garbage-collector callback or ``__del__``) still ends the run at its next step. One process
receives signals once, so it has one :data:`STOP`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from typing import Any

log = logging.getLogger("ctdc_risk")

# The pid of the ctdc-risk process that launches a sweep's jobs, passed to the processes it
# starts (joblib's workers, submitit's local jobs) through the environment.
LAUNCHER_PID = "CTDC_RISK_LAUNCHER_PID"
# How many jobs the sweep runs and when it started, for each job's progress line.
SWEEP_JOBS = "CTDC_RISK_SWEEP_JOBS"
SWEEP_STARTED = "CTDC_RISK_SWEEP_STARTED"
_LIFELINE_GRACE_S = 5.0


class StopSignal:
    """Why this process was asked to stop (``""`` while it was not), and the handlers that
    set it."""

    def __init__(self) -> None:
        self.reason = ""
        self._lifeline: threading.Thread | None = None

    def handle(self, signum: int, frame: object) -> None:
        """Signal handler: remember why, then stop like Ctrl-C."""
        if signum == signal.SIGINT:
            self.reason = self.reason or "interrupted by Ctrl-C"
        else:
            self.reason = self.reason or f"terminated by {signal.Signals(signum).name}"
        raise KeyboardInterrupt(self.reason)

    def install(self) -> None:
        """SIGTERM (a scheduler's or `kill`'s stop) ends the run like Ctrl-C: its MLflow run is
        closed KILLED with an end time, and no half-written file is left (every write is
        atomic)."""
        signal.signal(signal.SIGTERM, self.handle)
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not ignored (`cmd &`)
            signal.signal(signal.SIGINT, self.handle)
        sys.unraisablehook = self.unraisable(sys.unraisablehook)

    def raise_if_stopped(self) -> None:
        """Raise ``KeyboardInterrupt`` if a stop was asked for."""
        if self.reason:
            raise KeyboardInterrupt(self.reason)

    def unraisable(self, hook: Any) -> Any:
        """``sys.unraisablehook`` that stays quiet about a stop signal's KeyboardInterrupt raised
        where Python cannot deliver it (a garbage-collector callback, ``__del__``): the run
        stops at its next step instead, and the interrupt's traceback would only alarm."""

        def report(unraisable: Any) -> None:
            if self.reason and isinstance(unraisable.exc_value, KeyboardInterrupt):
                log.debug("stop signal delivered inside %r; stopping at the next step", unraisable)
                return
            hook(unraisable)

        return report

    def die_with_launcher(self) -> None:
        """End this sweep job when the process that launched it dies (``kill -9``).

        Only in a job run by a child process of the launcher: joblib's loky workers otherwise
        run their job on for minutes, and nobody would collect its result. A watch thread sees
        the parent change, stops the job like SIGTERM (its MLflow run closed KILLED, its folder
        INCOMPLETE) and kills the process if it is still there after a grace period. Jobs on
        other machines (SLURM) are not children of the launcher and are left alone. A thread
        rather than ``prctl(PR_SET_PDEATHSIG)``: that fires when the parent *thread* ends, and
        loky may start workers from a thread of its own.
        """
        launcher = int(os.environ.get(LAUNCHER_PID) or 0)
        if self._lifeline or launcher in (0, os.getpid()) or os.getppid() != launcher:
            return
        with contextlib.suppress(ValueError):  # not the main thread: SIGTERM's default then kills
            signal.signal(signal.SIGTERM, self.handle)

        def watch() -> None:
            while os.getppid() == launcher:
                time.sleep(0.5)
            self.reason = self.reason or f"the sweep's launching process {launcher} ended"
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(_LIFELINE_GRACE_S)
            os.kill(os.getpid(), signal.SIGKILL)

        self._lifeline = threading.Thread(target=watch, name="ctdc-risk-lifeline", daemon=True)
        self._lifeline.start()


STOP = StopSignal()
"""This process's stop signal (signals are delivered per process)."""
