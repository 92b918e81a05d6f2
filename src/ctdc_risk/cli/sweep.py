"""Sweeps (``ctdc-risk -m ...``): one parent MLflow run, a child per job, failures collected.

Hydra runs :class:`SweepCallback` in the process that launches the jobs. Before any job starts
it creates the MLflow store, the experiment and the sweep's parent run, and writes where they
are to ``<sweep dir>/.sweep/parent.json``; every job (in this process, a joblib worker, or a
submitit job on another machine sharing the folder) reads that file and opens its run as a
child of the parent. Each job records how it ended in ``.sweep/jobs/<num>.json``: a job that
fails records its error and returns None instead of raising, so the other jobs go on. At the end
the callback writes ``sweep_summary.csv`` and ``sweep_summary.md`` to the sweep folder, attaches
them to the parent run, closes it, and :func:`ctdc_risk.cli.main.main` exits non-zero naming
the failed jobs.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from ctdc_risk.cli.secrets import hide_secrets
from ctdc_risk.errors import CtdcRiskError
from ctdc_risk.metric_names import SWEEP_METRICS as SUMMARY_METRICS
from ctdc_risk.outputs import write_csv, write_json, write_text

STATE_DIR = ".sweep"
# Job files hold aggregates only (metrics of whole cohorts), never records.
_K_FOR_BOOKKEEPING = 1


@dataclass(frozen=True)
class JobRecord:
    """How one sweep job ended, as it recorded it."""

    num: int
    overrides: str
    status: str  # "running" (never finished: killed), "finished" or "failed"
    error: str = ""
    run_id: str = ""
    metrics: Mapping[str, float] = field(default_factory=dict)


@dataclass
class SweepOutcome:
    """What the launching process learns about a finished sweep."""

    sweep_dir: Path
    jobs: list[JobRecord]
    summary_files: list[Path]
    parent_run_id: str = ""
    tracking_uri: str = ""

    @property
    def failed(self) -> list[JobRecord]:
        return [j for j in self.jobs if j.status != "finished"]


def _state(sweep_dir: Path) -> Path:
    return sweep_dir / STATE_DIR


@dataclass(frozen=True)
class SweepJob:
    """The sweep job running in this process: its number, overrides and parent run."""

    sweep_dir: Path
    num: int
    overrides: str
    parent: Any = None  # ctdc_risk.tracking.SweepParent, when the sweep is tracked
    task: tuple[str, ...] = ()  # the job's overrides, one per item

    @property
    def run_name(self) -> str:
        """The job's MLflow run name: the values of the keys the sweep varies."""
        from ctdc_risk.tracking import child_run_name

        swept = tuple(getattr(self.parent, "swept", ()))
        if swept:
            return child_run_name(self.task, swept, self.num)
        return (self.overrides or f"job {self.num}")[:250]

    @classmethod
    def current(cls) -> SweepJob | None:
        """The running job, or None outside a multirun."""
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        hc = HydraConfig.get()
        if hc.mode != RunMode.MULTIRUN:
            return None
        sweep_dir = Path(hc.sweep.dir).resolve()
        parent = None
        parent_file = _state(sweep_dir) / "parent.json"
        if parent_file.exists():
            from ctdc_risk.tracking import SweepParent

            parent = SweepParent.from_json(json.loads(parent_file.read_text()))
        task = tuple(str(o) for o in hc.overrides.task)
        return cls(sweep_dir, int(hc.job.num), " ".join(task), parent, task)

    def record(
        self, status: str, *, error: str = "", run_id: str = "", metrics: Any = None
    ) -> None:
        picked = {k: float(metrics[k]) for k in SUMMARY_METRICS if metrics and k in metrics}
        data = {
            "num": self.num,
            "overrides": self.overrides,
            "status": status,
            "error": error,
            "run_id": run_id,
            "metrics": {k: v for k, v in picked.items() if math.isfinite(v)},
        }
        write_json(_state(self.sweep_dir) / "jobs", f"{self.num}.json", data, k=_K_FOR_BOOKKEEPING)

    def jobs_ended(self) -> int:
        """Jobs of this sweep that have finished or failed so far (in any process)."""
        return sum(j.status != "running" for j in read_jobs(self.sweep_dir))


def read_jobs(sweep_dir: Path) -> list[JobRecord]:
    """The job records of a sweep, in job order."""
    records = []
    for path in (_state(sweep_dir) / "jobs").glob("*.json"):
        data = json.loads(path.read_text())
        records.append(
            JobRecord(
                int(data["num"]),
                str(data["overrides"]),
                str(data["status"]),
                str(data.get("error", "")),
                str(data.get("run_id", "")),
                {str(k): float(v) for k, v in data.get("metrics", {}).items()},
            )
        )
    return sorted(records, key=lambda r: r.num)


def write_summary(sweep_dir: Path, jobs: list[JobRecord]) -> list[Path]:
    """``sweep_summary.csv`` and ``.md``: one row per job with its status and headline metrics."""
    header = ["job", "overrides", "status", *SUMMARY_METRICS, "run_id", "error"]
    rows = [
        [
            j.num,
            j.overrides,
            j.status,
            *(j.metrics.get(m) for m in SUMMARY_METRICS),
            j.run_id,
            j.error,
        ]
        for j in jobs
    ]
    csv_path = write_csv(sweep_dir, "sweep_summary.csv", header, rows, k=_K_FOR_BOOKKEEPING)

    def cell(value: object, column: str) -> str:
        if value is None:
            return ""
        if isinstance(value, float):
            return f"{value:,.0f}" if column.endswith("n_rows") else f"{value:.3f}"
        return str(value).replace("|", "\\|")

    shown = ["job", "overrides", "status", *SUMMARY_METRICS, "error"]
    lines = [
        f"# Sweep summary: {len(jobs)} jobs, {sum(j.status == 'finished' for j in jobs)} finished",
        "",
        "| " + " | ".join(shown) + " |",
        "|" + "---|" * len(shown),
    ]
    for row in rows:
        values = [*row[: 3 + len(SUMMARY_METRICS)], row[-1]]
        lines.append(
            "| " + " | ".join(cell(v, c) for v, c in zip(values, shown, strict=True)) + " |"
        )
    md_path = write_text(sweep_dir, "sweep_summary.md", "\n".join(lines) + "\n")
    return [csv_path, md_path]


class LaunchedSweep:
    """A sweep this process launches: created by :class:`SweepCallback` before its jobs, ended
    (summarised, its parent run closed) once, by the callback or after an interruption.

    Hydra instantiates the callback itself, so :func:`ctdc_risk.cli.main.main` finds the sweep
    through :func:`last_outcome` and :func:`end_interrupted_sweep`.
    """

    def __init__(self, sweep_dir: Path) -> None:
        self.sweep_dir = sweep_dir
        self.parent: Any = None  # ctdc_risk.tracking.SweepParent, when the sweep is tracked
        self.outcome: SweepOutcome | None = None
        self.open = True  # started and not yet ended

    def end(self, *, error: str) -> SweepOutcome:
        """Summarise the sweep from its job records, attach the summary to the parent run and
        close it (FAILED if a job failed, or if the sweep itself stopped with ``error``)."""
        if self.outcome is not None:
            return self.outcome
        self.open = False  # once: a failure while ending is not retried after an interruption
        self.outcome = _end_sweep(self.sweep_dir, self.parent, error=error)
        return self.outcome


# The sweeps launched by this process, latest last (Hydra launches one per process).
_launched: list[LaunchedSweep] = []


def last_outcome() -> SweepOutcome | None:
    """The outcome of the last sweep this process launched and ended, or None."""
    return _launched[-1].outcome if _launched else None


def end_interrupted_sweep(message: str) -> SweepOutcome | None:
    """Summarise and close a sweep that stopped before Hydra ended it (Ctrl-C, a sweeper
    error): its parent run is never left RUNNING and its failed jobs are still named."""
    if not _launched or not _launched[-1].open:
        return None
    return _launched[-1].end(error=message or "the sweep stopped")


class SweepCallback(Callback):
    """Hydra callback: parent run before the jobs, summary and status after them; and before
    any run, a check that its folder can be written."""

    def __init__(self) -> None:
        self.sweep: LaunchedSweep | None = None

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        # Hydra creates the folder and writes its config there before our code runs: a full or
        # read-only folder would end in Hydra's traceback. The marker is the first file.
        _writable_or_exit(Path(str(config.hydra.run.dir)), marker=True)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        hide_secrets(None)  # Hydra logs each job's overrides: a tracking URI's password too
        sweep_dir = Path(str(config.hydra.sweep.dir)).resolve()
        _writable_or_exit(sweep_dir, marker=False)
        state = _state(sweep_dir)
        for old in (state / "jobs").glob("*.json"):
            old.unlink()  # a rerun into the same folder starts a fresh record
        sweep = self.sweep = LaunchedSweep(sweep_dir)
        _launched.append(sweep)
        tracking = _tracking_spec(config)
        if tracking is None or not tracking.enabled or config.get("command") != "study":
            return  # only studies are tracked
        from ctdc_risk.tracking import start_sweep

        plain = _plain(config)
        plain.pop("tracking", None)
        try:
            parent = start_sweep(tracking, config=plain, cwd=Path.cwd(), swept=_swept(config))
        except CtdcRiskError as exc:
            _launched.remove(sweep)
            print(f"ctdc-risk: error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        write_json(state, "parent.json", parent.to_json(), k=_K_FOR_BOOKKEEPING)
        sweep.parent = parent

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep = self.sweep
        if sweep is None:  # pragma: no cover  (Hydra calls on_multirun_start first)
            sweep = LaunchedSweep(Path(str(config.hydra.sweep.dir)).resolve())
            _launched.append(sweep)
        sweep.end(error="")


def _writable_or_exit(folder: Path, *, marker: bool) -> None:
    from ctdc_risk.outputs import check_writable, mark_incomplete

    try:
        if marker:
            mark_incomplete(folder, "running")
        else:
            check_writable(folder)
    except CtdcRiskError as exc:
        print(f"ctdc-risk: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _end_sweep(sweep_dir: Path, parent: Any, *, error: str) -> SweepOutcome:
    """Summarise the sweep from its job records, attach the summary to the parent run (when
    tracked) and close it (FAILED if a job failed, or if the sweep itself stopped with
    ``error``)."""
    hide_secrets(sweep_dir)
    jobs = read_jobs(sweep_dir)
    files = write_summary(sweep_dir, jobs)
    # An Optuna sweep writes its best parameters next to the summary.
    optuna_results = sweep_dir / "optimization_results.yaml"
    attached = [*files, optuna_results] if optuna_results.exists() else files
    outcome = SweepOutcome(sweep_dir, jobs, files)
    if parent is not None:
        from ctdc_risk.tracking import abort_sweep, finish_sweep

        aucs = [j.metrics["cv/roc_auc_mean"] for j in jobs if "cv/roc_auc_mean" in j.metrics]
        metrics = {"sweep/n_jobs": float(len(jobs)), "sweep/n_failed": float(len(outcome.failed))}
        if aucs:
            metrics["sweep/best_cv_roc_auc_mean"] = max(aucs)
        failed = bool(outcome.failed) or bool(error)
        finish_sweep(parent, summary_files=attached, metrics=metrics, failed=failed)
        if error:
            abort_sweep(parent, error)  # says why on the parent, already closed FAILED
        outcome.parent_run_id = parent.run_id
        outcome.tracking_uri = parent.tracking_uri
    return outcome


def _plain(config: DictConfig) -> dict[str, Any]:
    task = OmegaConf.masked_copy(config, [str(k) for k in config if k != "hydra"])
    try:
        data = OmegaConf.to_container(task, resolve=True)
    except Exception:  # an interpolation only a job can resolve: keep it as written
        data = OmegaConf.to_container(task, resolve=False)
    assert isinstance(data, dict)
    return {str(k): v for k, v in data.items()}


def _swept(config: DictConfig) -> tuple[str, ...]:
    """The keys a sweep varies: the command line's sweeps, then its sweeper's params."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    try:
        line = parser.parse_overrides([str(o) for o in config.hydra.overrides.task])
    except Exception:  # the guard has parsed the line already; a name is not worth a stop
        return ()
    keys = [o.key_or_group for o in line if o.is_sweep_override()]
    fixed = {o.key_or_group for o in line if not o.is_sweep_override()}
    params = OmegaConf.select(config, "hydra.sweeper.params") or {}
    keys += [str(k) for k in params if str(k) not in fixed]
    return tuple(dict.fromkeys(keys))


def _tracking_spec(config: DictConfig) -> Any:
    from ctdc_risk.tracking import TrackingSpec

    raw = config.get("tracking")
    if raw is None:
        return None
    try:
        data = OmegaConf.to_container(raw, resolve=True)
        assert isinstance(data, dict)
        return TrackingSpec.from_mapping({str(k): v for k, v in data.items()})
    except CtdcRiskError as exc:
        print(f"ctdc-risk: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def describe_failures(outcome: SweepOutcome) -> str:
    """One line per failed job, for the terminal."""
    lines = [f"{len(outcome.failed)} of {len(outcome.jobs)} sweep jobs failed:"]
    for job in outcome.failed:
        why = job.error or "the job stopped before it finished (killed?)"
        lines.append(f"  job {job.num} ({job.overrides}): {why}")
    return "\n".join(lines)
