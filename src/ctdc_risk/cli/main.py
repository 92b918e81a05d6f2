"""``ctdc-risk [COMMAND] [overrides]``: the console-script entry point and its dispatch.

The first word, when it is a command name, is turned into the override ``command=NAME`` (the
config group ``conf/command``, which holds the command's own defaults), so the rest of the line
is plain Hydra (overrides, ``-m`` sweeps, ``hydra.run.dir=...``). Each command lives in its own
module of :mod:`ctdc_risk.cli.commands`; heavy libraries are imported only after Hydra has
parsed the line, so ``--help`` stays fast.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hydra
from omegaconf import DictConfig, OmegaConf

from ctdc_risk.cli.help import COMMANDS, command_help, help_text, version_text
from ctdc_risk.cli.stop import LAUNCHER_PID, STOP, SWEEP_JOBS, SWEEP_STARTED
from ctdc_risk.errors import CtdcRiskError

if TYPE_CHECKING:
    from ctdc_risk.cli.sweep import SweepOutcome

log = logging.getLogger("ctdc_risk")
# ${pid:} in run folder names (conf/config.yaml): two runs started in the same microsecond
# still get their own folder.
if not OmegaConf.has_resolver("pid"):
    OmegaConf.register_new_resolver("pid", os.getpid, use_cache=True)

# -v / --verbose: the log lines also on the terminal (they always go to the run's log file).
VERBOSE_FLAGS = ("-v", "--verbose")
VERBOSE_OVERRIDE = "hydra.job_logging.handlers.console.level=INFO"


def _split_command(argv: list[str]) -> list[str]:
    if argv and argv[0] in COMMANDS:
        # First, not last: Hydra reads overrides only before its options (--cfg job).
        return [f"command={argv[0]}", *argv[1:]]
    if argv and not argv[0].startswith("-") and "=" not in argv[0]:
        known = ", ".join(COMMANDS)
        print(
            f"ctdc-risk: unknown command {argv[0]!r}; commands are: {known}. "
            "Overrides look like KEY=VALUE; see ctdc-risk --help.",
            file=sys.stderr,
        )
        raise SystemExit(2)
    return argv


@hydra.main(version_base="1.3", config_path="pkg://ctdc_risk.conf", config_name="config")
def _entry(cfg: DictConfig) -> Any:
    from hydra.core.hydra_config import HydraConfig

    from ctdc_risk.cli.run import record, run_command
    from ctdc_risk.cli.sweep import SweepJob

    out_dir = Path(HydraConfig.get().runtime.output_dir)
    job = SweepJob.current()
    if job is None:
        try:
            return run_command(cfg, out_dir, None).value
        except CtdcRiskError as exc:
            # A mistake of the user's: the message says what to fix; a traceback would not help.
            print(f"ctdc-risk: error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
    # A sweep job: a failure is recorded and named at the end of the sweep, and never stops
    # the other jobs. None is what Hydra's Optuna sweeper records as a failed trial (it refuses
    # NaN with an error that stops the search); the basic sweeper ignores return values.
    STOP.die_with_launcher()
    job.record("running")
    try:
        outcome = run_command(cfg, out_dir, job)
    except CtdcRiskError as exc:
        print(f"ctdc-risk: error in sweep job {job.num} ({job.overrides}): {exc}", file=sys.stderr)
        record(job, "failed", error=str(exc).splitlines()[0][:500])
        return None
    except Exception as exc:
        # A bug, not a mistake of the user's: the traceback goes to the job's log file.
        log.exception("sweep job %d (%s) failed", job.num, job.overrides)
        print(
            f"ctdc-risk: sweep job {job.num} ({job.overrides}) crashed: "
            f"{type(exc).__name__}: {exc} (traceback in {out_dir})",
            file=sys.stderr,
        )
        record(job, "failed", error=f"{type(exc).__name__}: {str(exc)[:400]}")
        return None
    record(job, "finished", run_id=outcome.run_id, metrics=outcome.metrics)
    return outcome.value


def main() -> None:
    """Console-script entry point."""
    argv = sys.argv[1:]
    if "--version" in argv:
        print(version_text())  # not Hydra's version: ours and what results depend on
        return
    if argv[:1] == ["audit"]:
        from ctdc_risk.cli.commands import audit

        audit.main(argv[1:])
    if any(a in ("-h", "--help") for a in argv):
        # Our own help: Hydra's lists config groups by composing each one (about a second).
        print(command_help(argv[0]) if argv and argv[0] in COMMANDS else help_text())
        return
    verbose = any(a in VERBOSE_FLAGS for a in argv)
    argv = [a for a in argv if a not in VERBOSE_FLAGS]
    args = _split_command(argv) + ([VERBOSE_OVERRIDE] if verbose else [])
    from ctdc_risk.cli import guard, sweep

    try:
        n_jobs = guard.check_command_line(args)
    except CtdcRiskError as exc:
        print(f"ctdc-risk: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    sys.argv = [sys.argv[0], *args]
    os.environ[LAUNCHER_PID] = str(os.getpid())
    os.environ[SWEEP_JOBS] = str(n_jobs)
    os.environ[SWEEP_STARTED] = str(time.time())
    # Ctrl-C and SIGTERM set STOP.reason, so an interrupt Python swallowed still ends the run at
    # its next step.
    STOP.install()
    # A log file on a full or read-only disk: the run's own one-line error says so; logging's
    # "--- Logging error ---" traceback per record would bury it.
    logging.raiseExceptions = False

    try:
        _entry()
    except BaseException as exc:
        # A sweep that stopped early (Ctrl-C, a sweeper error) is still summarised, its failed
        # jobs named and its parent run closed, never left RUNNING.
        message = "the sweeper stopped" if isinstance(exc, SystemExit) else str(exc)
        stopped = sweep.end_interrupted_sweep(message or type(exc).__name__)
        if stopped is not None:
            _report_sweep(stopped)
        if isinstance(exc, KeyboardInterrupt):
            print(f"ctdc-risk: stopped ({STOP.reason or exc or 'interrupted'})", file=sys.stderr)
            raise SystemExit(130) from None
        raise
    if STOP.reason:  # a stop swallowed after the last step: the run did not finish
        print(f"ctdc-risk: stopped ({STOP.reason})", file=sys.stderr)
        raise SystemExit(130)
    finished = sweep.last_outcome()
    if finished is not None and _report_sweep(finished):
        raise SystemExit(1)


def _report_sweep(outcome: SweepOutcome) -> bool:
    """Print a sweep's summary and its failed jobs; True if any failed."""
    from ctdc_risk.cli import console
    from ctdc_risk.cli.sweep import describe_failures

    console.print_sweep_summary(outcome)
    if outcome.failed:
        print(f"ctdc-risk: error: {describe_failures(outcome)}", file=sys.stderr)
    return bool(outcome.failed)


if __name__ == "__main__":  # pragma: no cover
    main()
