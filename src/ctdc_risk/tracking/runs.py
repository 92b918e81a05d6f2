"""A study's MLflow run from open to close: created (as a sweep's child, or in its own
experiment), params logged, closed FINISHED, FAILED with the error, or KILLED; and runs left
RUNNING by a process that died, closed FAILED."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ctdc_risk.tracking.faults import redact, store_faults
from ctdc_risk.tracking.keys import run_params
from ctdc_risk.tracking.store import (
    TrackingSpec,
    credentials_to_env,
    experiment_id,
    reachable_uri,
    store_lock,
)

if TYPE_CHECKING:
    from ctdc_risk.tracking.sweeps import SweepParent

log = logging.getLogger(__name__)


@dataclass
class TrackedRun:
    """Filled in while the run is open; read by the CLI to say where the run is."""

    run_id: str = ""
    tracking_uri: str = ""
    experiment_id: str = ""
    artifact_uri: str = ""
    sweep_child: bool = False
    """A sweep's job: named by its swept values, not renamed after the study."""


def process_tags() -> dict[str, str]:
    return {"host": socket.gethostname(), "pid": str(os.getpid())}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def close_stale_runs(client: Any, experiment_id: str) -> int:
    """Mark FAILED the runs this machine left RUNNING when their process died (SIGKILL, power
    loss); return how many. Runs of other machines are left alone: their pid means nothing here.
    """
    host = socket.gethostname().replace("'", "")
    stale = 0
    for run in client.search_runs(
        [experiment_id],
        f"attributes.status = 'RUNNING' and tags.host = '{host}'",
        max_results=10_000,
    ):
        pid = run.data.tags.get("pid", "")
        if pid.isdigit() and not _alive(int(pid)):
            client.set_tag(
                run.info.run_id, "error", f"process {pid} ended without closing its run (killed?)"
            )
            client.set_terminated(run.info.run_id, status="FAILED")
            log.warning("marked run %s FAILED: its process %s is gone", run.info.run_id, pid)
            stale += 1
    return stale


def log_params(client: Any, run_id: str, config: Mapping[str, Any]) -> None:
    """The headline params (``Cohort``, ``Target``, ``Model``) and the whole config, dotted."""
    from mlflow.entities import Param

    items = run_params(config)
    for i in range(0, len(items), 100):
        client.log_batch(run_id, params=[Param(k, v) for k, v in items[i : i + 100]])


@contextmanager
def track_study(
    spec: TrackingSpec,
    *,
    config: Mapping[str, Any],
    run_name: str,
    cwd: Path,
    parent: SweepParent | None = None,
    tags: Mapping[str, str] | None = None,
) -> Iterator[TrackedRun]:
    """Open an MLflow run around a study; FAILED (with the error as a tag) if it raises.

    With ``parent`` the run is a child of that sweep run, in the parent's store and experiment.
    """
    import mlflow
    from mlflow.tracking import MlflowClient

    run_tags = {**process_tags(), **(tags or {})}
    if parent is None:
        uri, artifacts = reachable_uri(spec, cwd)
    else:
        if spec.tracking_uri:  # a job on another machine gets its credentials from its config
            credentials_to_env(spec.tracking_uri)
        uri, artifacts = parent.tracking_uri, None
        run_tags["mlflow.parentRunId"] = parent.run_id
    with store_faults(uri):
        mlflow.set_tracking_uri(uri)
        if parent is None:
            with store_lock(uri):
                client = MlflowClient(tracking_uri=uri)
                found = experiment_id(client, spec, artifacts)
            close_stale_runs(client, found)
        else:
            client = MlflowClient(tracking_uri=uri)
            found = parent.experiment_id
        run = client.create_run(found, run_name=run_name, tags=run_tags)
    tracked = TrackedRun(
        run.info.run_id, uri, found, run.info.artifact_uri or "", sweep_child=parent is not None
    )
    try:
        with store_faults(uri):
            log_params(client, run.info.run_id, config)
        yield tracked
    except BaseException as exc:
        message = str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__
        status = "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"
        try:
            client.set_tag(run.info.run_id, "error", redact(message))
            client.set_terminated(run.info.run_id, status=status)
        except Exception as close_exc:  # the store broke too: the next run marks it FAILED
            log.warning(
                "could not close MLflow run %s %s: %s",
                run.info.run_id, status, redact(str(close_exc).splitlines()[0][:300]),
            )  # fmt: skip
        raise
    with store_faults(uri):
        client.set_terminated(run.info.run_id, status="FINISHED")
