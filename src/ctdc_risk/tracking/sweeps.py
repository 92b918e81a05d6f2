"""A sweep's parent run: created once before any job (named by what the sweep varies), then
given the sweep's summary as its description and artifacts, and closed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctdc_risk import __version__
from ctdc_risk.tracking.faults import redact, store_faults
from ctdc_risk.tracking.naming import sweep_run_name
from ctdc_risk.tracking.results import git_commit
from ctdc_risk.tracking.runs import close_stale_runs, log_params, process_tags
from ctdc_risk.tracking.store import (
    NOTE_TAG,
    TrackingSpec,
    experiment_id,
    reachable_uri,
    store_lock,
)

MAX_NOTE_CHARS = 8000  # MLflow keeps at most 8,000 characters of a run tag


@dataclass(frozen=True)
class SweepParent:
    """The parent run of a sweep: created once, up front, and found by every job."""

    run_id: str
    tracking_uri: str
    experiment_id: str
    swept: tuple[str, ...] = field(default=())
    """The keys the sweep varies: each child run is named by their values."""

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "tracking_uri": self.tracking_uri,
            "experiment_id": self.experiment_id,
            "swept": list(self.swept),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SweepParent:
        return cls(
            str(data["run_id"]),
            str(data["tracking_uri"]),
            str(data["experiment_id"]),
            tuple(str(k) for k in data.get("swept", ())),
        )


def start_sweep(
    spec: TrackingSpec,
    *,
    config: Mapping[str, Any],
    cwd: Path,
    swept: Sequence[str] = (),
    run_name: str | None = None,
) -> SweepParent:
    """Create the store, the experiment and the sweep's parent run before any job starts.

    Parallel jobs then only add runs to an existing experiment, so none of them races to create
    the SQLite schema or the experiment ("database is locked"). The parent is named by the
    swept keys and what the jobs share, unless ``run_name`` is given.
    """
    from mlflow.tracking import MlflowClient

    uri, artifacts = reachable_uri(spec, cwd)
    with store_faults(uri):
        with store_lock(uri):
            client = MlflowClient(tracking_uri=uri)
            found = experiment_id(client, spec, artifacts)
        close_stale_runs(client, found)
        tags = {
            **process_tags(),
            "sweep": "parent",
            "sweep_keys": ",".join(swept)[:5000],
            "experiment": spec.experiment,
            "package_version": __version__,
            "git_commit": git_commit(cwd),
        }
        name = run_name or sweep_run_name(config, swept)
        run = client.create_run(found, run_name=name, tags=tags)
        log_params(client, run.info.run_id, config)
    return SweepParent(run.info.run_id, uri, found, tuple(swept))


def finish_sweep(
    parent: SweepParent, *, summary_files: list[Path], metrics: Mapping[str, float], failed: bool
) -> int:
    """Attach the sweep summary to the parent (its Markdown also as the run's description) and
    close it; return how many stuck child runs (jobs killed before they could close their run)
    were marked FAILED."""
    from mlflow.tracking import MlflowClient

    with store_faults(parent.tracking_uri):
        client = MlflowClient(tracking_uri=parent.tracking_uri)
        artifacts = client.get_run(parent.run_id).info.artifact_uri or "of the sweep"
    with store_faults(parent.tracking_uri, artifacts=artifacts):
        return _finish_sweep(client, parent, summary_files, metrics, failed)


def _finish_sweep(
    client: Any,
    parent: SweepParent,
    summary_files: list[Path],
    metrics: Mapping[str, float],
    failed: bool,
) -> int:
    from mlflow.entities import Metric

    stuck = client.search_runs(
        [parent.experiment_id],
        f"tags.mlflow.parentRunId = '{parent.run_id}' and attributes.status = 'RUNNING'",
        max_results=10_000,
    )
    for run in stuck:
        client.set_tag(run.info.run_id, "error", "the job ended without closing its run")
        client.set_terminated(run.info.run_id, status="FAILED")
    client.log_batch(
        parent.run_id, metrics=[Metric(k, float(v), 0, 0) for k, v in sorted(metrics.items())]
    )
    for path in summary_files:
        client.log_artifact(parent.run_id, str(path))
        if path.suffix == ".md":
            note = path.read_text(encoding="utf-8")[:MAX_NOTE_CHARS]
            client.set_tag(parent.run_id, NOTE_TAG, note)
    client.set_terminated(parent.run_id, status="FAILED" if failed or stuck else "FINISHED")
    return len(stuck)


def abort_sweep(parent: SweepParent, message: str) -> None:
    """Record why a sweep stopped early on its parent run, closing it FAILED if still open."""
    from mlflow.tracking import MlflowClient

    with store_faults(parent.tracking_uri):
        client = MlflowClient(tracking_uri=parent.tracking_uri)
        client.set_tag(parent.run_id, "error", redact(message)[:500])
        if client.get_run(parent.run_id).info.status == "RUNNING":
            client.set_terminated(parent.run_id, status="FAILED")
