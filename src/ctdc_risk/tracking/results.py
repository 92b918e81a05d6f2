"""A finished study's (or replication's) results on its open run: name, description, tags,
headline and factor metrics, the dataset it read, and its run folder as artifacts."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ctdc_risk import __version__
from ctdc_risk.tracking.dataset import dataset_input
from ctdc_risk.tracking.faults import store_faults
from ctdc_risk.tracking.keys import factor_metrics, headline_metrics
from ctdc_risk.tracking.naming import (
    release_words,
    replication_run_name,
    study_run_name,
    summary_note,
)
from ctdc_risk.tracking.runs import TrackedRun
from ctdc_risk.tracking.store import NOTE_TAG

if TYPE_CHECKING:
    from ctdc_risk.pipeline.replicate import ReplicationResult
    from ctdc_risk.pipeline.study import StudyResult

METRICS_PER_BATCH = 500
MAX_NOTE_CHARS = 8000  # MLflow keeps at most 8,000 characters of a run tag


def git_commit(path: Path) -> str:
    """The repository's commit, or "unknown" outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


def _log(
    tracked: TrackedRun,
    *,
    name: str,
    metrics: Mapping[str, float],
    params: Mapping[str, str],
    tags: Mapping[str, str],
    inputs: list[Any],
    folder: Path,
) -> None:
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracked.tracking_uri)
    # Headline scores first: the compare page sorts keys and starts its plots from the first.
    items = sorted(metrics.items(), key=lambda kv: (not kv[0][:1].isupper(), kv[0]))
    batch = [Metric(k, float(v), 0, 0) for k, v in items]
    with store_faults(tracked.tracking_uri, artifacts=tracked.artifact_uri or "of the run"):
        for i in range(0, len(batch), METRICS_PER_BATCH):
            client.log_batch(tracked.run_id, metrics=batch[i : i + METRICS_PER_BATCH])
        client.log_batch(
            tracked.run_id,
            params=[Param(k, v) for k, v in params.items()],
            tags=[RunTag(k, v) for k, v in tags.items()],
        )
        if inputs:
            client.log_inputs(tracked.run_id, datasets=inputs)
        if not tracked.sweep_child:  # a sweep's job keeps the name of its swept values
            client.update_run(tracked.run_id, name=name)
        client.log_artifacts(tracked.run_id, str(folder))


def log_study(tracked: TrackedRun, result: StudyResult, *, experiment_name: str, cwd: Path) -> None:
    """Log a finished study to its open run: named by what it is, described by its summary,
    with its metrics (headline scores and labelled factor levels too), tags, the dataset it
    read and its run folder."""
    spec = result.spec
    report = result.data_report
    k = spec.privacy.k
    tags = {
        "cohort": spec.cohort.name,
        "target": spec.target.name,
        "model": ",".join(m.name for m in spec.models),
        "primary_model": result.primary_model,
        "data_release": report.release_id,
        "data_sha256": report.source.sha256,
        "data_file": report.source.name,
        "package_version": __version__,
        "git_commit": git_commit(cwd),
        "experiment": experiment_name,
    }
    note = summary_note(result.out_dir / "report.md")
    if note:
        tags[NOTE_TAG] = note[:MAX_NOTE_CHARS]
    metrics = {
        **result.metrics,
        **headline_metrics(result.metrics),
        **factor_metrics(result.table.rows),
    }
    _log(
        tracked,
        name=study_run_name(spec, report),
        metrics=metrics,
        params={"Data": release_words(report)},
        tags=tags,
        inputs=[dataset_input(report, k)],
        folder=result.out_dir,
    )


def log_replication(
    tracked: TrackedRun, result: ReplicationResult, *, experiment_name: str, cwd: Path
) -> None:
    """Log a finished replication's metrics, tags, datasets and run folder (every release's
    study inside it) to its open run."""
    spec = result.spec
    studies = result.studies
    reports = [s.data_report for s in studies]
    tags = {
        "command": "replicate",
        "cohort": spec.cohort.name,
        "target": spec.target.name,
        "model": ",".join(m.name for m in spec.models),
        "data_release": ",".join(r.release_id for r in reports),
        "data_sha256": ",".join(r.source.sha256 for r in reports)[:5000],
        "data_file": ",".join(r.source.name for r in reports)[:5000],
        "package_version": __version__,
        "git_commit": git_commit(cwd),
        "experiment": experiment_name,
    }
    counts = {key.rsplit("/", 1)[-1]: value for key, value in result.metrics.items()}
    tags[NOTE_TAG] = (
        f"The study replicated on {len(studies)} releases: "
        f"{counts.get('levels_replicate', 0):.0f} of {counts.get('levels_compared', 0):.0f} "
        "factor levels compared replicate (replication.md has the table)."
    )
    # Several files may be one release: each its own input, told apart by name and digest.
    inputs = list(
        {
            (r.source.name, r.source.sha256): dataset_input(
                r, spec.privacy.k, context="replication"
            )
            for r in reports
        }.values()
    )
    _log(
        tracked,
        name=replication_run_name(spec, reports),
        metrics=dict(sorted(result.metrics.items())[:METRICS_PER_BATCH]),
        params={"Data": ", ".join(dict.fromkeys(release_words(r) for r in reports))[:500]},
        tags=tags,
        inputs=inputs,
        folder=result.out_dir,
    )
