"""``ctdc-risk [COMMAND] [overrides]``: the Hydra entry point.

The first word, when it is a command name, is turned into the override ``command=NAME`` so the
rest of the line is plain Hydra (overrides, ``-m`` sweeps, ``hydra.run.dir=...``). Heavy
libraries are imported only after Hydra has parsed the line, so ``--help`` stays fast.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hydra
from omegaconf import DictConfig, OmegaConf

from ctdc_risk.cli.help import COMMANDS, command_help, help_text, version_text
from ctdc_risk.errors import CtdcRiskError

if TYPE_CHECKING:
    from ctdc_risk.cli.sweep import SweepJob, SweepOutcome
    from ctdc_risk.pipeline.specs import RunSpec

log = logging.getLogger("ctdc_risk")
# ${pid:} in run folder names (conf/config.yaml): two runs started in the same microsecond
# still get their own folder.
if not OmegaConf.has_resolver("pid"):
    OmegaConf.register_new_resolver("pid", os.getpid, use_cache=True)


def _split_command(argv: list[str]) -> list[str]:
    if argv and argv[0] in COMMANDS:
        rest = argv[1:]
        # First, not last: Hydra reads overrides only before its options (--cfg job).
        added = [f"command={argv[0]}"]
        if argv[0] == "describe" and not any(a.startswith("cohort=") for a in rest):
            # The headline compares children with adults: describe every case by default.
            added.append("cohort=all")
        return [*added, *rest]
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

    from ctdc_risk.cli.sweep import SweepJob

    out_dir = Path(HydraConfig.get().runtime.output_dir)
    job = SweepJob.current()
    if job is None:
        try:
            return _run(cfg, out_dir, None).value
        except CtdcRiskError as exc:
            # A mistake of the user's: the message says what to fix; a traceback would not help.
            print(f"ctdc-risk: error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
    # A sweep job: a failure is recorded and named at the end of the sweep, and never stops
    # the other jobs. None is what Hydra's Optuna sweeper records as a failed trial (it refuses
    # NaN with an error that stops the search); the basic sweeper ignores return values.
    _die_with_launcher()
    job.record("running")
    try:
        outcome = _run(cfg, out_dir, job)
    except CtdcRiskError as exc:
        print(f"ctdc-risk: error in sweep job {job.num} ({job.overrides}): {exc}", file=sys.stderr)
        _record(job, "failed", error=str(exc).splitlines()[0][:500])
        return None
    except Exception as exc:
        # A bug, not a mistake of the user's: the traceback goes to the job's log file.
        log.exception("sweep job %d (%s) failed", job.num, job.overrides)
        print(
            f"ctdc-risk: sweep job {job.num} ({job.overrides}) crashed: "
            f"{type(exc).__name__}: {exc} (traceback in {out_dir})",
            file=sys.stderr,
        )
        _record(job, "failed", error=f"{type(exc).__name__}: {str(exc)[:400]}")
        return None
    _record(job, "finished", run_id=outcome.run_id, metrics=outcome.metrics)
    return outcome.value


@dataclass(frozen=True)
class _Outcome:
    value: float
    metrics: dict[str, float]
    run_id: str = ""


def _run(cfg: DictConfig, out_dir: Path, job: SweepJob | None) -> _Outcome:
    from ctdc_risk.cli.secrets import hide_secrets
    from ctdc_risk.outputs import mark_incomplete

    # A password in a tracking URI must not reach the saved config, the log or MLflow.
    hide_secrets(out_dir)
    # Until every file is written the folder says it is not a finished run (INCOMPLETE); a
    # killed run leaves it saying "running", a failed or stopped one says how it ended.
    mark_incomplete(out_dir, "running")
    try:
        return _run_command(cfg, out_dir, job)
    except BaseException as exc:
        if (out_dir / "INCOMPLETE").exists():
            how = "stopped" if isinstance(exc, KeyboardInterrupt) else "failed"
            why = _STOP or (str(exc).splitlines() or [type(exc).__name__])[0][:300]
            with contextlib.suppress(OSError, CtdcRiskError):  # a full disk: keep "running"
                mark_incomplete(out_dir, f"{how}: {why}")
        raise


def _progress(job: SweepJob | None) -> Any:
    """The study's progress display; every update raises KeyboardInterrupt after a stop signal
    whose exception Python swallowed (it fell in a garbage-collector callback or ``__del__``).
    A sweep job prints plain lines named by its number: jobs may share one terminal."""
    from ctdc_risk.cli import console

    if job is None:
        return console.progress(check=_raise_if_stopped)
    return console.progress(check=_raise_if_stopped, label=f"job {job.num}: ", plain=True)


def _record(job: SweepJob, status: str, **kwargs: Any) -> None:
    """Record how a sweep job ended and show the sweep's progress (jobs done of all)."""
    from ctdc_risk.cli import console

    job.record(status, **kwargs)
    total = int(os.environ.get(SWEEP_JOBS) or 0)
    started = float(os.environ.get(SWEEP_STARTED) or 0)
    if total and started:
        console.print_sweep_progress(job.jobs_ended(), total, time.time() - started)


def _run_command(cfg: DictConfig, out_dir: Path, job: SweepJob | None) -> _Outcome:
    from ctdc_risk.cli import console
    from ctdc_risk.outputs import mark_complete
    from ctdc_risk.pipeline.specs import run_spec_from_mapping

    try:
        plain = OmegaConf.to_container(cfg, resolve=True)
    except Exception as exc:  # omegaconf's interpolation errors
        from ctdc_risk.errors import ConfigError

        key = getattr(exc, "full_key", "") or "?"
        raise ConfigError(
            f"config key {key!r} cannot be resolved: {str(exc).splitlines()[0]}"
        ) from None
    assert isinstance(plain, dict)
    config = {str(key): value for key, value in plain.items()}
    # Tracking and comparing are edge concerns: the study itself never sees them.
    tracking_cfg = config.pop("tracking", None) or {"enabled": False}
    compare_cfg = config.pop("compare", None) or {}
    if config.get("command") == "compare":
        outcome = _compare(compare_cfg, tracking_cfg, config, out_dir)
        _raise_if_stopped()
        mark_complete(out_dir)
        return outcome
    spec = run_spec_from_mapping(config)
    if spec.data.source == "synthetic":
        console.print_generated_banner()  # first, before any progress: and again in the summary
    if spec.command == "replicate":
        return _replicate(spec, config, tracking_cfg, out_dir, job)
    if spec.command == "describe":
        from ctdc_risk.pipeline.describe import run_describe

        described = run_describe(spec, out_dir)
        _raise_if_stopped()
        mark_complete(out_dir)
        console.print_describe_summary(described)
        share = described.headline.family["children"].share
        return _Outcome(float("nan") if share is None else share, {})
    from ctdc_risk.pipeline.study import run_study
    from ctdc_risk.tracking import TrackingSpec

    tracking = TrackingSpec.from_mapping(tracking_cfg)
    if not tracking.enabled:
        with _progress(job) as bar:
            result = run_study(spec, out_dir, progress=bar)
        _raise_if_stopped()
        mark_complete(out_dir)
        console.print_study_summary(result)
        # The value a sweeper optimises: the primary model's cross-validated ROC AUC.
        return _Outcome(result.metrics["cv/roc_auc_mean"], dict(result.metrics))
    from ctdc_risk.errors import TrackingError
    from ctdc_risk.tracking import log_study, study_run_name, track_study

    cwd = Path.cwd()
    tags = {} if job is None else {"sweep_job": str(job.num), "sweep_overrides": job.overrides}
    run_name = study_run_name(spec) if job is None else job.run_name
    parent = None if job is None else job.parent
    with track_study(
        tracking, config=config, run_name=run_name, cwd=cwd, parent=parent, tags=tags
    ) as run:
        with _progress(job) as bar:
            result = run_study(spec, out_dir, progress=bar)
        _raise_if_stopped()
        mark_complete(out_dir)  # before logging: the folder is complete, and MLflow gets no marker
        log.info("logging the run to MLflow")
        try:
            log_study(run, result, experiment_name=tracking.experiment, cwd=cwd)
        except TrackingError as exc:
            raise TrackingError(f"the study's files are complete in {out_dir}, but {exc}") from None
        _raise_if_stopped()  # an interrupt swallowed while logging: KILLED, not FINISHED
    console.print_study_summary(result, tracking=(run.run_id, run.tracking_uri, run.experiment_id))
    return _Outcome(result.metrics["cv/roc_auc_mean"], dict(result.metrics), run.run_id)


def _replicate(
    spec: RunSpec,
    config: dict[str, Any],
    tracking_cfg: dict[str, Any],
    out_dir: Path,
    job: SweepJob | None,
) -> _Outcome:
    """The study on every file of ``replicate.data``, side by side (one MLflow run)."""
    from ctdc_risk.cli import console
    from ctdc_risk.outputs import mark_complete
    from ctdc_risk.pipeline.replicate import run_replication
    from ctdc_risk.pipeline.specs import replicate_spec_from_mapping
    from ctdc_risk.tracking import TrackingSpec

    files = replicate_spec_from_mapping(config.get("replicate"))
    tracking = TrackingSpec.from_mapping(tracking_cfg)

    def run(bar: Any) -> Any:
        # Each study's steps show as lines of the one display (a stop signal ends the run).
        return run_replication(
            spec, files.data, out_dir, names=files.names, progress=lambda msg: bar.step(msg)
        )

    # The value a sweeper optimises: how many factor levels replicate.
    key = "replication/levels_replicate"
    if not tracking.enabled:
        with console.progress(check=_raise_if_stopped) as bar:
            result = run(bar)
        _raise_if_stopped()
        mark_complete(out_dir)
        console.print_replication_summary(result)
        return _Outcome(result.metrics[key], dict(result.metrics))
    from ctdc_risk.errors import TrackingError
    from ctdc_risk.tracking import log_replication, study_run_name, track_study

    cwd = Path.cwd()
    tags = {} if job is None else {"sweep_job": str(job.num), "sweep_overrides": job.overrides}
    run_name = study_run_name(spec) if job is None else job.run_name
    parent = None if job is None else job.parent
    with track_study(
        tracking, config=config, run_name=run_name, cwd=cwd, parent=parent, tags=tags
    ) as tracked:
        with console.progress(check=_raise_if_stopped) as bar:
            result = run(bar)
            _raise_if_stopped()
            mark_complete(out_dir)
            bar.step("logging the run to MLflow")
            try:
                log_replication(tracked, result, experiment_name=tracking.experiment, cwd=cwd)
            except TrackingError as exc:
                raise TrackingError(
                    f"the run's files are complete in {out_dir}, but {exc}"
                ) from None
        _raise_if_stopped()
    console.print_replication_summary(result, tracking=(tracked.run_id, tracked.tracking_uri))
    return _Outcome(result.metrics[key], dict(result.metrics), tracked.run_id)


def _compare(
    compare_cfg: dict[str, Any], tracking_cfg: dict[str, Any], config: dict[str, Any], out_dir: Path
) -> _Outcome:
    from ctdc_risk.cli import console
    from ctdc_risk.errors import ConfigError, reject_unknown_keys
    from ctdc_risk.privacy import PrivacySpec
    from ctdc_risk.report.comparison import build_comparison
    from ctdc_risk.report.comparison_render import write_comparison
    from ctdc_risk.tracking import TrackingSpec, fetch_runs

    reject_unknown_keys(compare_cfg, {"experiment", "parent", "runs", "top"}, "compare")
    top = compare_cfg.get("top", 15)
    if not isinstance(top, int) or isinstance(top, bool) or top < 1:
        raise ConfigError(f"compare.top must be a whole number of at least 1; got {top!r}.")
    runs = compare_cfg.get("runs") or []
    if not isinstance(runs, list):
        raise ConfigError(f"compare.runs must be a list like [ID,ID]; got {runs!r}.")
    privacy_cfg = config.get("privacy") or {}
    reject_unknown_keys(privacy_cfg, {"k"}, "privacy")
    privacy = PrivacySpec(**privacy_cfg)
    tracking = TrackingSpec.from_mapping(tracking_cfg)
    summaries = fetch_runs(
        tracking,
        cwd=Path.cwd(),
        experiment=compare_cfg.get("experiment"),
        parent=compare_cfg.get("parent"),
        run_ids=[str(r) for r in runs],
    )
    comparison = build_comparison(summaries, top=top, k=privacy.k)
    files = write_comparison(comparison, out_dir, k=privacy.k)
    console.print_comparison(comparison, files)
    return _Outcome(float(comparison.n_differ), {})


# Why the run was asked to stop ("" while it was not): set by the signal handler, checked at
# every step, so a stop whose exception Python swallowed still stops the run.
_STOP = ""


def _interrupt(signum: int, frame: object) -> None:
    global _STOP
    if signum == signal.SIGINT:
        _STOP = _STOP or "interrupted by Ctrl-C"
    else:
        _STOP = _STOP or f"terminated by {signal.Signals(signum).name}"
    raise KeyboardInterrupt(_STOP)


# The pid of the ctdc-risk process that launches a sweep's jobs, passed to the processes it
# starts (joblib's workers, submitit's local jobs) through the environment.
LAUNCHER_PID = "CTDC_RISK_LAUNCHER_PID"
# How many jobs the sweep runs and when it started, for each job's progress line.
SWEEP_JOBS = "CTDC_RISK_SWEEP_JOBS"
SWEEP_STARTED = "CTDC_RISK_SWEEP_STARTED"
_LIFELINE_GRACE_S = 5.0
_lifeline: list[threading.Thread] = []


def _die_with_launcher() -> None:
    """End this sweep job when the process that launched it dies (``kill -9``).

    Only in a job run by a child process of the launcher: joblib's loky workers otherwise run
    their job on for minutes, and nobody would collect its result. A watch thread sees the
    parent change, stops the job like SIGTERM (its MLflow run closed KILLED, its folder
    INCOMPLETE) and kills the process if it is still there after a grace period. Jobs on other
    machines (SLURM) are not children of the launcher and are left alone. A thread rather than
    ``prctl(PR_SET_PDEATHSIG)``: that fires when the parent *thread* ends, and loky may start
    workers from a thread of its own.
    """
    launcher = int(os.environ.get(LAUNCHER_PID) or 0)
    if _lifeline or launcher in (0, os.getpid()) or os.getppid() != launcher:
        return
    with contextlib.suppress(ValueError):  # not the main thread: SIGTERM's default then kills
        signal.signal(signal.SIGTERM, _interrupt)

    def watch() -> None:
        global _STOP
        while os.getppid() == launcher:
            time.sleep(0.5)
        _STOP = _STOP or f"the sweep's launching process {launcher} ended"
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(_LIFELINE_GRACE_S)
        os.kill(os.getpid(), signal.SIGKILL)

    _lifeline.append(threading.Thread(target=watch, name="ctdc-risk-lifeline", daemon=True))
    _lifeline[0].start()


def _raise_if_stopped() -> None:
    if _STOP:
        raise KeyboardInterrupt(_STOP)


def _unraisable(hook: Any) -> Any:
    """``sys.unraisablehook`` that stays quiet about a stop signal's KeyboardInterrupt raised
    where Python cannot deliver it (a garbage-collector callback, ``__del__``): the run stops
    at its next step instead, and the interrupt's traceback would only alarm."""

    def report(unraisable: Any) -> None:
        if _STOP and isinstance(unraisable.exc_value, KeyboardInterrupt):
            log.debug("stop signal delivered inside %r; stopping at the next step", unraisable)
            return
        hook(unraisable)

    return report


def _audit(args: list[str]) -> None:
    """``ctdc-risk audit RUN_DIR [RUN_DIR ...] [privacy.k=K]``: exit 0 clean, 1 findings, 2 misuse.

    Needs no config: it reads what a finished run published, so it runs outside Hydra.
    """
    from ctdc_risk.audit import AuditError, audit_run

    k: int | None = None
    folders = []
    for arg in args:
        if arg.startswith("privacy.k="):
            value = arg.split("=", 1)[1]
            if not value.isdigit() or int(value) < 1:
                print(f"ctdc-risk audit: privacy.k must be a whole number; got {value!r}.",
                      file=sys.stderr)  # fmt: skip
                raise SystemExit(2)
            k = int(value)
        else:
            folders.append(Path(arg))
    if not folders:
        print("ctdc-risk audit: give a run folder: ctdc-risk audit RUN_DIR", file=sys.stderr)
        raise SystemExit(2)
    failed = False
    for folder in folders:
        try:
            report = audit_run(folder, k=k)
        except (AuditError, OSError, ValueError) as exc:
            print(f"ctdc-risk audit: error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        print("\n".join(report.lines()))
        failed = failed or not report.ok
    raise SystemExit(1 if failed else 0)


# -v / --verbose: the log lines also on the terminal (they always go to the run's log file).
VERBOSE_FLAGS = ("-v", "--verbose")
VERBOSE_OVERRIDE = "hydra.job_logging.handlers.console.level=INFO"


def main() -> None:
    """Console-script entry point."""
    argv = sys.argv[1:]
    if "--version" in argv:
        print(version_text())  # not Hydra's version: ours and what results depend on
        return
    if argv[:1] == ["audit"]:
        _audit(argv[1:])
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
    # SIGTERM (a scheduler's or `kill`'s stop) ends the run like Ctrl-C: its MLflow run is closed
    # KILLED with an end time, and no half-written file is left (every write is atomic). Both
    # set _STOP, so an interrupt Python swallowed still ends the run at its next step.
    signal.signal(signal.SIGTERM, _interrupt)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not ignored (`cmd &`)
        signal.signal(signal.SIGINT, _interrupt)
    sys.unraisablehook = _unraisable(sys.unraisablehook)
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
            print(f"ctdc-risk: stopped ({_STOP or exc or 'interrupted'})", file=sys.stderr)
            raise SystemExit(130) from None
        raise
    if _STOP:  # a stop swallowed after the last step: the run did not finish
        print(f"ctdc-risk: stopped ({_STOP})", file=sys.stderr)
        raise SystemExit(130)
    if sweep.LAST_OUTCOME is not None and _report_sweep(sweep.LAST_OUTCOME):
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
