"""What every command's run shares: the plain config, the run folder's INCOMPLETE marker, the
progress display, the MLflow run around it, and the :class:`Outcome` a sweeper reads.

:func:`run_command` turns Hydra's config into a plain dict and hands it to the command's
module in :mod:`ctdc_risk.cli.commands` (each builds its own spec from it).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from omegaconf import DictConfig, OmegaConf

from ctdc_risk.cli.stop import STOP, SWEEP_JOBS, SWEEP_STARTED
from ctdc_risk.errors import CtdcRiskError

if TYPE_CHECKING:
    from ctdc_risk.cli.sweep import SweepJob
    from ctdc_risk.pipeline.specs import RunSpec
    from ctdc_risk.tracking import TrackedRun, TrackingSpec

log = logging.getLogger("ctdc_risk")
R = TypeVar("R")

# The commands Hydra runs (audit reads a finished folder and needs no config) and their modules.
COMMAND_MODULES = {
    name: f"ctdc_risk.cli.commands.{name}" for name in ("study", "describe", "replicate", "compare")
}


@dataclass(frozen=True)
class Outcome:
    """What a command's run returns: the value a sweeper optimises, the headline metrics a sweep
    job records, and the MLflow run id (tracked runs)."""

    value: float
    metrics: dict[str, float] = field(default_factory=dict)
    run_id: str = ""


def run_command(cfg: DictConfig, out_dir: Path, job: SweepJob | None) -> Outcome:
    """Run the configured command into ``out_dir``; the folder says INCOMPLETE until every file
    is written, and how the run ended if it did not finish."""
    from ctdc_risk.cli.secrets import hide_secrets
    from ctdc_risk.outputs import mark_incomplete

    # A password in a tracking URI must not reach the saved config, the log or MLflow.
    hide_secrets(out_dir)
    # Until every file is written the folder says it is not a finished run (INCOMPLETE); a
    # killed run leaves it saying "running", a failed or stopped one says how it ended.
    mark_incomplete(out_dir, "running")
    try:
        config = plain_config(cfg)
        command = importlib.import_module(COMMAND_MODULES[str(config.get("command", "study"))])
        outcome: Outcome = command.run(config, out_dir, job)
        return outcome
    except BaseException as exc:
        if (out_dir / "INCOMPLETE").exists():
            how = "stopped" if isinstance(exc, KeyboardInterrupt) else "failed"
            why = STOP.reason or (str(exc).splitlines() or [type(exc).__name__])[0][:300]
            with contextlib.suppress(OSError, CtdcRiskError):  # a full disk: keep "running"
                mark_incomplete(out_dir, f"{how}: {why}")
        raise


def plain_config(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config as a plain dict; an interpolation that fails is a ConfigError."""
    try:
        plain = OmegaConf.to_container(cfg, resolve=True)
    except Exception as exc:  # omegaconf's interpolation errors
        from ctdc_risk.errors import ConfigError

        key = getattr(exc, "full_key", "") or "?"
        raise ConfigError(
            f"config key {key!r} cannot be resolved: {str(exc).splitlines()[0]}"
        ) from None
    if not isinstance(plain, dict):  # pragma: no cover  (Hydra composes a mapping)
        raise TypeError(f"the composed config is a {type(plain).__name__}, not a mapping")
    return {str(key): value for key, value in plain.items()}


def split_edge_blocks(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``config`` without ``tracking`` and ``compare`` (edge concerns the study never sees),
    and the ``tracking`` block (``enabled: false`` when there is none)."""
    study = dict(config)
    tracking = study.pop("tracking", None) or {"enabled": False}
    study.pop("compare", None)
    return study, tracking


def finish(out_dir: Path) -> None:
    """The run's files are all written: stop now if asked to, else mark the folder complete."""
    from ctdc_risk.outputs import mark_complete

    STOP.raise_if_stopped()
    mark_complete(out_dir)


def progress(job: SweepJob | None) -> Any:
    """The run's progress display; every update raises KeyboardInterrupt after a stop signal
    whose exception Python swallowed. A sweep job prints plain lines named by its number:
    jobs may share one terminal."""
    from ctdc_risk.cli import console

    if job is None:
        return console.progress(check=STOP.raise_if_stopped)
    return console.progress(check=STOP.raise_if_stopped, label=f"job {job.num}: ", plain=True)


@contextlib.contextmanager
def tracked_run(
    tracking: TrackingSpec,
    *,
    config: dict[str, Any],
    run_name: str,
    job: SweepJob | None,
) -> Iterator[TrackedRun]:
    """An MLflow run around the command (a sweep job's run: a child of the sweep's parent,
    named by its swept values)."""
    from ctdc_risk.tracking import track_study

    tags = {} if job is None else {"sweep_job": str(job.num), "sweep_overrides": job.overrides}
    with track_study(
        tracking,
        config=config,
        run_name=run_name if job is None else job.run_name,
        cwd=Path.cwd(),
        parent=None if job is None else job.parent,
        tags=tags,
    ) as run:
        yield run
        STOP.raise_if_stopped()  # an interrupt swallowed while logging: KILLED, not FINISHED


def run_maybe_tracked(
    spec: RunSpec,
    tracking_config: dict[str, Any],
    *,
    config: dict[str, Any],
    job: SweepJob | None,
    out_dir: Path,
    execute: Callable[[Any], R],
    log_run: Callable[..., None],
    what: str,
    label_job: bool = True,
) -> tuple[R, TrackedRun | None]:
    """``execute(progress)`` into ``out_dir``, mark the folder complete, and, when the
    ``tracking`` block turns tracking on, do both inside an MLflow run named after ``spec`` and
    log the finished folder to it with ``log_run(run, result, experiment_name=..., cwd=...)``
    (the result and the run come back; the run is None without tracking). Generated data is
    said first. ``label_job``: a sweep job's progress lines are named by its number."""
    from ctdc_risk.cli import console
    from ctdc_risk.tracking import TrackingSpec, study_run_name

    if spec.data.source == "synthetic":
        console.print_generated_banner()  # first, before any progress: and again in the summary
    tracking = TrackingSpec.from_mapping(tracking_config)
    cwd = Path.cwd()  # where the command began: logged paths are relative to it
    if not tracking.enabled:
        with progress(job if label_job else None) as bar:
            result = execute(bar)
        finish(out_dir)
        return result, None
    run_name = study_run_name(spec)
    with tracked_run(tracking, config=config, run_name=run_name, job=job) as tracked:
        with progress(job if label_job else None) as bar:
            result = execute(bar)
        finish(out_dir)  # before logging: the folder is complete, and MLflow gets no marker
        log.info("logging the run to MLflow")
        log_complete_run(
            lambda: log_run(tracked, result, experiment_name=tracking.experiment, cwd=cwd),
            out_dir,
            what=what,
        )
    return result, tracked


def log_complete_run(log_run: Callable[[], None], out_dir: Path, *, what: str = "run") -> None:
    """Log a finished run's files; a tracking failure says the files are complete anyway."""
    from ctdc_risk.errors import TrackingError

    try:
        log_run()
    except TrackingError as exc:
        raise TrackingError(f"the {what}'s files are complete in {out_dir}, but {exc}") from None


def record(job: SweepJob, status: str, **kwargs: Any) -> None:
    """Record how a sweep job ended and show the sweep's progress (jobs done of all)."""
    from ctdc_risk.cli import console

    job.record(status, **kwargs)
    total = int(os.environ.get(SWEEP_JOBS) or 0)
    started = float(os.environ.get(SWEEP_STARTED) or 0)
    if total and started:
        console.print_sweep_progress(job.jobs_ended(), total, time.time() - started)
