"""``ctdc-risk [COMMAND] [overrides]``: the Hydra entry point.

The first word, when it is a command name, is turned into the override ``command=NAME`` so the
rest of the line is plain Hydra (overrides, ``-m`` sweeps, ``hydra.run.dir=...``). Heavy
libraries are imported only after Hydra has parsed the line, so ``--help`` stays fast.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hydra
from omegaconf import DictConfig, OmegaConf

from ctdc_risk.cli.help import COMMANDS, help_text
from ctdc_risk.errors import CtdcRiskError

if TYPE_CHECKING:
    from ctdc_risk.cli.sweep import SweepJob, SweepOutcome

log = logging.getLogger("ctdc_risk")
# ${pid:} in run folder names (conf/config.yaml): two runs started in the same microsecond
# still get their own folder.
if not OmegaConf.has_resolver("pid"):
    OmegaConf.register_new_resolver("pid", os.getpid, use_cache=True)


def _split_command(argv: list[str]) -> list[str]:
    if argv and argv[0] in COMMANDS:
        rest = argv[1:]
        if argv[0] == "describe" and not any(a.startswith("cohort=") for a in rest):
            # The headline compares children with adults: describe every case by default.
            rest = [*rest, "cohort=all"]
        return [*rest, f"command={argv[0]}"]
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
    job.record("running")
    try:
        outcome = _run(cfg, out_dir, job)
    except CtdcRiskError as exc:
        print(f"ctdc-risk: error in sweep job {job.num} ({job.overrides}): {exc}", file=sys.stderr)
        job.record("failed", error=str(exc).splitlines()[0][:500])
        return None
    except Exception as exc:
        # A bug, not a mistake of the user's: the traceback goes to the job's log file.
        log.exception("sweep job %d (%s) failed", job.num, job.overrides)
        print(
            f"ctdc-risk: sweep job {job.num} ({job.overrides}) crashed: "
            f"{type(exc).__name__}: {exc} (traceback in {out_dir})",
            file=sys.stderr,
        )
        job.record("failed", error=f"{type(exc).__name__}: {str(exc)[:400]}")
        return None
    job.record("finished", run_id=outcome.run_id, metrics=outcome.metrics)
    return outcome.value


@dataclass(frozen=True)
class _Outcome:
    value: float
    metrics: dict[str, float]
    run_id: str = ""


def _run(cfg: DictConfig, out_dir: Path, job: SweepJob | None) -> _Outcome:
    from ctdc_risk.cli import console
    from ctdc_risk.cli.secrets import hide_secrets

    # A password in a tracking URI must not reach the saved config, the log or MLflow.
    hide_secrets(out_dir)
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
        return _compare(compare_cfg, tracking_cfg, config, out_dir)
    spec = run_spec_from_mapping(config)
    if spec.command == "describe":
        from ctdc_risk.pipeline.describe import run_describe

        described = run_describe(spec, out_dir)
        console.print_describe_summary(described)
        share = described.headline.family["children"].share
        return _Outcome(float("nan") if share is None else share, {})
    from ctdc_risk.pipeline.study import run_study
    from ctdc_risk.tracking import TrackingSpec

    tracking = TrackingSpec.from_mapping(tracking_cfg)
    if not tracking.enabled:
        with console.progress() as say:
            result = run_study(spec, out_dir, progress=say)
        console.print_study_summary(result)
        # The value a sweeper optimises: the primary model's cross-validated ROC AUC.
        return _Outcome(result.metrics["cv/roc_auc_mean"], dict(result.metrics))
    from ctdc_risk.tracking import log_study, track_study

    cwd = Path.cwd()
    tags = {} if job is None else {"sweep_job": str(job.num), "sweep_overrides": job.overrides}
    run_name = out_dir.name if job is None else (job.overrides or f"job {job.num}")[:250]
    parent = None if job is None else job.parent
    with track_study(
        tracking, config=config, run_name=run_name, cwd=cwd, parent=parent, tags=tags
    ) as run:
        with console.progress() as say:
            result = run_study(spec, out_dir, progress=say)
        say("logging the run to MLflow")
        log_study(run, result, experiment_name=tracking.experiment, cwd=cwd)
    console.print_study_summary(result, tracking=(run.run_id, run.tracking_uri))
    return _Outcome(result.metrics["cv/roc_auc_mean"], dict(result.metrics), run.run_id)


def _compare(
    compare_cfg: dict[str, Any], tracking_cfg: dict[str, Any], config: dict[str, Any], out_dir: Path
) -> _Outcome:
    from ctdc_risk.cli import console
    from ctdc_risk.errors import ConfigError, reject_unknown_keys
    from ctdc_risk.privacy import PrivacySpec
    from ctdc_risk.report.comparison import build_comparison, write_comparison
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
    comparison = build_comparison(summaries, top=top)
    files = write_comparison(comparison, out_dir, k=privacy.k)
    console.print_comparison(comparison, files)
    return _Outcome(float(comparison.n_differ), {})


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"terminated by {signal.Signals(signum).name}")


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


def main() -> None:
    """Console-script entry point."""
    if any(a in ("-h", "--help") for a in sys.argv[1:]):
        # Our own help: Hydra's lists config groups by composing each one (about a second).
        print(help_text())
        return
    if sys.argv[1:2] == ["audit"]:
        _audit(sys.argv[2:])
    args = _split_command(sys.argv[1:])
    from ctdc_risk.cli import guard, sweep

    try:
        guard.check_command_line(args)
    except CtdcRiskError as exc:
        print(f"ctdc-risk: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    sys.argv = [sys.argv[0], *args]
    # SIGTERM (a scheduler's or `kill`'s stop) ends the run like Ctrl-C: its MLflow run is closed
    # KILLED with an end time, and no half-written file is left (every write is atomic).
    signal.signal(signal.SIGTERM, _interrupt)

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
            print(f"ctdc-risk: stopped ({exc or 'interrupted'})", file=sys.stderr)
            raise SystemExit(130) from None
        raise
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
