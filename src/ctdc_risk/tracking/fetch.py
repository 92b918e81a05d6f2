"""The runs ``ctdc-risk compare`` sets side by side: picked from a store, read into
:class:`~ctdc_risk.report.comparison.RunSummary` (metrics, tags, params, factor table)."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ctdc_risk.errors import ConfigError
from ctdc_risk.features import FACTORS
from ctdc_risk.report.comparison import RunSummary
from ctdc_risk.tracking.faults import redact, store_faults
from ctdc_risk.tracking.keys import config_params
from ctdc_risk.tracking.store import TrackingSpec, credentials_to_env, refuse_file_store

log = logging.getLogger(__name__)


def fetch_runs(
    spec: TrackingSpec,
    *,
    cwd: Path,
    experiment: str | None = None,
    parent: str | None = None,
    run_ids: Sequence[str] = (),
) -> list[RunSummary]:
    """The runs to compare, from one of: an experiment's finished runs (sweep parents left out),
    a sweep's finished child runs, or the given run ids (in that order)."""
    # MLflow draws a progress bar per downloaded file; the CLI says what it did itself.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

    from mlflow.tracking import MlflowClient

    uri = credentials_to_env(spec.resolved(cwd)[0])
    refuse_file_store(uri)
    with store_faults(uri):
        return _fetch_runs(MlflowClient(tracking_uri=uri), uri, experiment, parent, run_ids)


def _fetch_runs(
    client: Any, uri: str, experiment: str | None, parent: str | None, run_ids: Sequence[str]
) -> list[RunSummary]:
    import csv
    import tempfile

    from mlflow.exceptions import MlflowException

    where = f"in {redact(uri)}"
    if sum(bool(x) for x in (experiment, parent, run_ids)) != 1:
        raise ConfigError(
            "compare needs exactly one of compare.experiment=NAME, compare.parent=RUN_ID or "
            "compare.runs=[RUN_ID,RUN_ID,...]."
        )
    if run_ids:
        runs = []
        for run_id in run_ids:
            try:
                runs.append(client.get_run(str(run_id)))
            except MlflowException:
                raise ConfigError(f"compare.runs: no run {run_id!r} {where}.") from None
    elif parent:
        try:
            parent_run = client.get_run(parent)
        except MlflowException:
            raise ConfigError(f"compare.parent: no run {parent!r} {where}.") from None
        runs = client.search_runs(
            [parent_run.info.experiment_id],
            f"tags.mlflow.parentRunId = '{parent}' and attributes.status = 'FINISHED'",
            max_results=10_000,
        )
        runs.sort(key=lambda r: int(r.data.tags.get("sweep_job", "0")))
    else:
        found = client.get_experiment_by_name(str(experiment))
        if found is None:
            names = ", ".join(sorted(e.name for e in client.search_experiments())) or "none"
            raise ConfigError(
                f"compare.experiment: no experiment {experiment!r} {where}; there: {names}."
            )
        runs = [
            r
            for r in client.search_runs(
                [found.experiment_id], "attributes.status = 'FINISHED'", max_results=10_000
            )
            if r.data.tags.get("sweep") != "parent"
        ]
        runs.sort(key=lambda r: r.info.start_time or 0)
    if len(runs) < 2:
        raise ConfigError(f"compare needs at least two finished study runs; found {len(runs)}.")
    summaries = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, run in enumerate(runs):
            rows: list[dict[str, str]] = []
            path = _download(run.info.run_id, "factors.csv", f"{tmp}/{i}", uri)
            if path is None:
                log.warning("run %s has no factors.csv artifact", run.info.run_id)
            else:
                with open(path, newline="", encoding="utf-8") as fh:
                    rows = list(csv.DictReader(fh))
            document = _download(run.info.run_id, "factors.json", f"{tmp}/{i}", uri)
            summaries.append(
                RunSummary(
                    run.info.run_id,
                    run.info.run_name or run.info.run_id[:8],
                    run.info.status,
                    dict(run.data.metrics),
                    dict(run.data.tags),
                    rows,
                    config_params(run.data.params),
                    {} if document is None else dropped_factors(document),
                )
            )
    return summaries


def _download(run_id: str, name: str, folder: str, uri: str) -> str | None:
    """The local path of one artifact of the run (a copy), or None if the run has none."""
    from mlflow.artifacts import download_artifacts
    from mlflow.exceptions import MlflowException

    try:
        path: str = download_artifacts(
            run_id=run_id, artifact_path=name, dst_path=folder, tracking_uri=uri
        )
    except (MlflowException, OSError):
        return None
    return path


def dropped_factors(path: str | Path) -> dict[str, str]:
    """Factor label -> why the study left it out, from a run's ``factors.json``.

    Only the reasons are read (texts such as "the same for every case"), never a count; a
    document that cannot be read gives no reasons (compare then says why in general terms).
    """
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("cannot read %s; factors left out are not explained", path)
        return {}
    entries = document.get("dropped_factors") if isinstance(document, dict) else None
    dropped: dict[str, str] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        name, reason = entry.get("factor"), entry.get("reason")
        if isinstance(name, str) and isinstance(reason, str):
            # factors.csv names a factor by its label: the comparison matches on that.
            dropped[FACTORS[name].label if name in FACTORS else name] = reason
    return dropped
