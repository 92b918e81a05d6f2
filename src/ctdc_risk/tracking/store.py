"""Where runs are tracked: the spec, the store's URI (credentials, folder stores, a server that
does not answer), the lock that lets independent studies create a store together, and the
experiment (created once, with its description and kind)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ctdc_risk.errors import TrackingError
from ctdc_risk.tracking.faults import redact, sqlite_path
from ctdc_risk.validate import Constraints, Text, from_mapping

log = logging.getLogger(__name__)
PROBE_TIMEOUT_S = 10
# What the MLflow UI reads to show an experiment as model training ("Machine learning") rather
# than GenAI development (traces); the UI's kind selector writes the same tag.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
# The description the MLflow UI shows (and edits) for an experiment or a run.
NOTE_TAG = "mlflow.note.content"


@dataclass(frozen=True)
class TrackingSpec:
    """Where runs are tracked."""

    # The flags and URIs are checked by their annotations.
    _constraints: ClassVar[Constraints] = {
        "experiment": Text(nonempty=True, what="a non-empty name")
    }
    enabled: bool = True
    tracking_uri: str | None = None
    artifact_location: str | None = None
    experiment: str = "ctdc-risk"
    fallback_to_local: bool = False

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, key: str = "tracking") -> TrackingSpec:
        """Build the spec from the ``tracking`` config block (strict keys and types)."""
        return from_mapping(cls, data, key)

    def resolved(self, cwd: Path) -> tuple[str, str | None]:
        """Tracking URI and artifact location for new experiments.

        Default: SQLite and an artifact folder in ``cwd``. With a ``tracking_uri`` and no
        ``artifact_location`` the store decides (a team server keeps artifacts itself).
        """
        if self.tracking_uri:
            return self.tracking_uri, self.artifact_location
        uri = f"sqlite:///{(cwd / 'mlflow.db').resolve()}"
        artifacts = self.artifact_location or (cwd / "mlartifacts").resolve().as_uri()
        return uri, artifacts


def refuse_file_store(uri: str) -> None:
    """MLflow 3 refuses a folder store (``file://`` or a plain path) with a page of text."""
    import urllib.parse

    scheme = urllib.parse.urlsplit(uri).scheme
    if scheme != "file" and (scheme or uri == "databricks"):
        return
    if os.environ.get("MLFLOW_ALLOW_FILE_STORE", "").lower() in ("1", "true"):
        return  # the user opted in to MLflow's deprecated folder store
    raise TrackingError(
        f"tracking.tracking_uri={redact(uri)} is a folder store (mlruns), which MLflow "
        f"{_mlflow_version()} no longer writes to. Use a SQLite file instead, e.g. "
        "tracking.tracking_uri=sqlite:////ABSOLUTE/PATH/mlflow.db (leave tracking_uri unset for "
        "mlflow.db here; move an old folder's runs with `mlflow migrate-filestore`), a server "
        "(http://HOST:PORT), or run without tracking: tracking=none."
    )


def _mlflow_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mlflow")
    except PackageNotFoundError:
        return "3"


@contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """Hold ``<store>.lock`` (beside a SQLite store) while opening the store.

    MLflow creates a new store's tables and runs its migrations when it first opens it; two
    processes doing so at once fail with ``duplicate column name``. Sweeps avoid this by
    opening the store before any job; independent studies take this lock. Other stores, and a
    folder where the lock cannot be created (read-only: the store's own error then says so),
    are opened without it.
    """
    import fcntl

    path = sqlite_path(uri)
    if path is None:
        yield
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _unreachable(uri: str) -> str:
    """Why an HTTP tracking server does not answer, or "" if it does (any HTTP reply counts)."""
    import urllib.error
    import urllib.parse
    import urllib.request

    parts = urllib.parse.urlsplit(uri)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    probe = urllib.parse.urlunsplit(
        (parts.scheme, netloc, parts.path.rstrip("/") + "/health", "", "")
    )
    try:
        with urllib.request.urlopen(probe, timeout=PROBE_TIMEOUT_S):
            return ""
    except urllib.error.HTTPError:
        return ""  # it answered (perhaps asking for credentials): reachable
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return str(reason) or type(exc).__name__


def credentials_to_env(uri: str) -> str:
    """Move ``user:password@`` out of an HTTP tracking URI into MLflow's credential variables.

    MLflow prints run links built from the tracking URI; without this, a password in the URI
    would be printed with them. Returns the URI without credentials.
    """
    import urllib.parse

    parts = urllib.parse.urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.username:
        return uri
    os.environ.setdefault("MLFLOW_TRACKING_USERNAME", urllib.parse.unquote(parts.username))
    if parts.password is not None:
        os.environ.setdefault("MLFLOW_TRACKING_PASSWORD", urllib.parse.unquote(parts.password))
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def reachable_uri(spec: TrackingSpec, cwd: Path) -> tuple[str, str | None]:
    """The store to use: the configured one if it answers, else the local one when allowed."""
    uri, artifacts = spec.resolved(cwd)
    uri = credentials_to_env(uri)
    refuse_file_store(uri)
    if not uri.startswith(("http://", "https://")):
        return uri, artifacts
    problem = _unreachable(uri)
    if not problem:
        return uri, artifacts
    if spec.fallback_to_local:
        local = TrackingSpec(experiment=spec.experiment)
        local_uri, local_artifacts = local.resolved(cwd)
        log.warning(
            "tracking server %s did not answer (%s); logging to the local store %s instead",
            redact(uri), problem, local_uri,
        )  # fmt: skip
        return local_uri, local_artifacts
    raise TrackingError(
        f"tracking server {redact(uri)} did not answer within {PROBE_TIMEOUT_S} s ({problem}). "
        "Start it, choose another with tracking.tracking_uri=URI, log to the local store when "
        "it is down with tracking.fallback_to_local=true, or run without tracking: tracking=none."
    )


def experiment_id(client: Any, spec: TrackingSpec, artifacts: str | None) -> str:
    """The experiment's id, created on first use (a concurrent creator may win the race).

    A new experiment is marked model training (so the UI opens on its runs, not on traces) and
    described; an existing one gets what it lacks, never a description written over.
    """
    from mlflow.exceptions import MlflowException

    from ctdc_risk.tracking.naming import experiment_description

    experiment = client.get_experiment_by_name(spec.experiment)
    if experiment is None:
        try:
            return str(
                client.create_experiment(
                    spec.experiment,
                    artifact_location=artifacts,
                    tags={
                        EXPERIMENT_KIND_TAG: EXPERIMENT_KIND,
                        NOTE_TAG: experiment_description(spec.experiment),
                    },
                )
            )
        except MlflowException:
            experiment = client.get_experiment_by_name(spec.experiment)
            if experiment is None:
                raise
    found = str(experiment.experiment_id)
    tags = experiment.tags or {}
    if EXPERIMENT_KIND_TAG not in tags:
        client.set_experiment_tag(found, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
    if not tags.get(NOTE_TAG):
        client.set_experiment_tag(found, NOTE_TAG, experiment_description(spec.experiment))
    return found


def runs_page(experiment_id: str) -> str:
    """The MLflow UI's page of an experiment's runs, relative to the UI's address.

    MLflow 3.17's UI chooses between GenAI (traces) and model training from its workflow
    switch (the ``workflowType`` of the address, else the last one used in that browser,
    GenAI at first), not from the experiment's kind: this address opens the runs table.
    """
    return f"#/experiments/{experiment_id}/runs?workflowType=machine_learning"
