"""MLflow tracking: the only module that imports mlflow.

Every study becomes one MLflow run: the resolved config flattened into dotted params (values too
long for a param stay in the config artifact), the study's slash-named metrics, tags that make
runs comparable (cohort, target, models, release, data sha256, package version, git commit),
and the whole run folder as artifacts (already privacy-guarded; models are LightGBM text and
coefficients JSON, never pickles). A study that fails ends its run FAILED with the error as a
tag, never FINISHED.

Default store: ``mlflow.db`` (SQLite) and ``mlartifacts/`` in the directory the command runs
from; ``tracking.tracking_uri=URI`` chooses another store and ``tracking=none`` turns tracking
off. A store that is damaged, read-only or full is a :class:`~ctdc_risk.errors.TrackingError`
naming it and saying what to do, never a database traceback; opening a SQLite store takes a
lock beside it, so studies started together never both create its tables.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import socket
import sqlite3
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ctdc_risk import __version__
from ctdc_risk.errors import ConfigError, TrackingError, reject_unknown_keys
from ctdc_risk.report.comparison import RunSummary

log = logging.getLogger(__name__)
MAX_PARAM_CHARS = 500
PROBE_TIMEOUT_S = 10


@dataclass(frozen=True)
class TrackingSpec:
    """Where runs are tracked."""

    enabled: bool = True
    tracking_uri: str | None = None
    artifact_location: str | None = None
    experiment: str = "ctdc-risk"
    fallback_to_local: bool = False

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, key: str = "tracking") -> TrackingSpec:
        reject_unknown_keys(data, set(cls.__dataclass_fields__), key)
        spec = cls(**dict(data))
        for flag in ("enabled", "fallback_to_local"):
            if not isinstance(getattr(spec, flag), bool):
                raise ConfigError(
                    f"{key}.{flag} must be true or false; got {getattr(spec, flag)!r}."
                )
        if not spec.experiment:
            raise ConfigError(f"{key}.experiment must be a non-empty name.")
        return spec

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


def redact(uri: str) -> str:
    """Hide a password in a URI (``postgresql://user:secret@host`` -> ``user:***@host``)."""
    return re.sub(r"(//[^/:@]+):[^@/]*@", r"\1:***@", uri)


_PARAM_KEY = re.compile(r"[\w\-. :/]+")


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Dotted params from a nested config; lists become JSON text.

    A mapping whose keys are not valid MLflow names (the leakage globs ``recruiter_*``) becomes
    one JSON value, like a list.
    """
    out: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and not all(_PARAM_KEY.fullmatch(str(k)) for k in value):
            out[name] = json.dumps(dict(value), sort_keys=True)
        elif isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = json.dumps(value) if isinstance(value, list | tuple) else str(value)
    return out


def git_commit(path: Path) -> str:
    """The repository's commit, or "unknown" outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


@dataclass
class TrackedRun:
    """Filled in while the run is open; read by the CLI to say where the run is."""

    run_id: str = ""
    tracking_uri: str = ""
    experiment_id: str = ""
    artifact_uri: str = ""


_OTHER_STORE = "choose another store with tracking.tracking_uri=URI, or run without tracking: "
_FULL = (errno.ENOSPC, errno.EDQUOT)
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


def _sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (None for other stores and in-memory ones)."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///") :].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def _refuse_file_store(uri: str) -> None:
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


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__


def _store_fault(exc: BaseException) -> tuple[str, str] | None:
    """``(kind, reason)`` when ``exc`` says the store itself is damaged ("damaged"), cannot be
    written ("read-only") or has no room ("full"); None for any other error."""
    for link in _chain(exc):
        if isinstance(link, OSError) and link.errno in _FULL:
            return "full", link.strerror or "no space left"
        if isinstance(link, OSError) and link.errno in _READ_ONLY:
            return "read-only", link.strerror or "permission denied"
        if isinstance(link, sqlite3.Error):
            text = str(link)
            if "not a database" in text or "malformed" in text:
                return "damaged", text
            if "readonly" in text or "unable to open database" in text:
                return "read-only", text
            if "disk is full" in text:
                return "full", text
            if "disk I/O error" in text:
                return "full", f"{text}: full or failing disk?"
    return None


def _store_error(exc: BaseException, where: str, path: Path | None) -> TrackingError | None:
    fault = _store_fault(exc)
    if fault is None:
        return None
    kind, reason = fault
    if kind == "damaged":
        aside = f"move {path} aside (a new store is made in its place)" if path else "repair it"
        return TrackingError(
            f"{where} is damaged ({reason}). To keep tracking, {aside}, {_OTHER_STORE}"
            "tracking=none."
        )
    if kind == "read-only":
        return TrackingError(
            f"{where} cannot be written ({reason}). Make it and its folder writable, "
            f"{_OTHER_STORE}tracking=none."
        )
    return TrackingError(
        f"{where} cannot be written: its disk is full ({reason}). Free space there, "
        f"{_OTHER_STORE}tracking=none."
    )


class _QuietStoreErrors(logging.Filter):
    """MLflow logs a database error's whole traceback before raising it; the error is then
    turned into one line naming the store, so the logged copy only buries it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("SQLAlchemy database error")


_QUIET = _QuietStoreErrors()


@contextmanager
def _store_faults(uri: str, *, artifacts: str | None = None) -> Iterator[None]:
    """Turn a damaged, read-only or full store (its database or, with ``artifacts``, its
    artifact folder) into a :class:`TrackingError` naming it and what to do."""
    store_logger = logging.getLogger("mlflow.store.db.utils")
    if _QUIET not in store_logger.filters:
        store_logger.addFilter(_QUIET)
    try:
        yield
    except TrackingError:
        raise
    except Exception as exc:
        where = f"MLflow store {redact(uri)}"
        if artifacts and isinstance(exc, OSError):
            where = f"MLflow artifact store {redact(artifacts)}"
        error = _store_error(exc, where, _sqlite_path(uri))
        if error is None:
            raise
        raise error from None


@contextmanager
def _store_lock(uri: str) -> Iterator[None]:
    """Hold ``<store>.lock`` (beside a SQLite store) while opening the store.

    MLflow creates a new store's tables and runs its migrations when it first opens it; two
    processes doing so at once fail with ``duplicate column name``. Sweeps avoid this by
    opening the store before any job; independent studies take this lock. Other stores, and a
    folder where the lock cannot be created (read-only: the store's own error then says so),
    are opened without it.
    """
    import fcntl

    path = _sqlite_path(uri)
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


def _reachable_uri(spec: TrackingSpec, cwd: Path) -> tuple[str, str | None]:
    """The store to use: the configured one if it answers, else the local one when allowed."""
    uri, artifacts = spec.resolved(cwd)
    uri = credentials_to_env(uri)
    _refuse_file_store(uri)
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


def _process_tags() -> dict[str, str]:
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


def _experiment_id(client: Any, spec: TrackingSpec, artifacts: str | None) -> str:
    """The experiment's id, created on first use (a concurrent creator may win the race)."""
    from mlflow.exceptions import MlflowException

    experiment = client.get_experiment_by_name(spec.experiment)
    if experiment is not None:
        return str(experiment.experiment_id)
    try:
        return str(client.create_experiment(spec.experiment, artifact_location=artifacts))
    except MlflowException:
        experiment = client.get_experiment_by_name(spec.experiment)
        if experiment is None:
            raise
        return str(experiment.experiment_id)


def _log_params(client: Any, run_id: str, config: Mapping[str, Any]) -> None:
    from mlflow.entities import Param

    params = {k: v for k, v in flatten(config).items() if len(v) <= MAX_PARAM_CHARS}
    items = sorted(params.items())
    for i in range(0, len(items), 100):
        client.log_batch(run_id, params=[Param(k, v) for k, v in items[i : i + 100]])


@dataclass(frozen=True)
class SweepParent:
    """The parent run of a sweep: created once, up front, and found by every job."""

    run_id: str
    tracking_uri: str
    experiment_id: str

    def to_json(self) -> dict[str, str]:
        return {
            "run_id": self.run_id,
            "tracking_uri": self.tracking_uri,
            "experiment_id": self.experiment_id,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SweepParent:
        return cls(str(data["run_id"]), str(data["tracking_uri"]), str(data["experiment_id"]))


def start_sweep(
    spec: TrackingSpec, *, config: Mapping[str, Any], run_name: str, cwd: Path
) -> SweepParent:
    """Create the store, the experiment and the sweep's parent run before any job starts.

    Parallel jobs then only add runs to an existing experiment, so none of them races to create
    the SQLite schema or the experiment ("database is locked").
    """
    from mlflow.tracking import MlflowClient

    uri, artifacts = _reachable_uri(spec, cwd)
    with _store_faults(uri):
        with _store_lock(uri):
            client = MlflowClient(tracking_uri=uri)
            experiment_id = _experiment_id(client, spec, artifacts)
        close_stale_runs(client, experiment_id)
        tags = {
            **_process_tags(),
            "sweep": "parent",
            "experiment": spec.experiment,
            "package_version": __version__,
            "git_commit": git_commit(cwd),
        }
        run = client.create_run(experiment_id, run_name=run_name, tags=tags)
        _log_params(client, run.info.run_id, config)
    return SweepParent(run.info.run_id, uri, experiment_id)


def finish_sweep(
    parent: SweepParent, *, summary_files: list[Path], metrics: Mapping[str, float], failed: bool
) -> int:
    """Attach the sweep summary to the parent and close it; return how many stuck child runs
    (jobs killed before they could close their run) were marked FAILED."""
    from mlflow.tracking import MlflowClient

    with _store_faults(parent.tracking_uri):
        client = MlflowClient(tracking_uri=parent.tracking_uri)
        artifacts = client.get_run(parent.run_id).info.artifact_uri or "of the sweep"
    with _store_faults(parent.tracking_uri, artifacts=artifacts):
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
    client.set_terminated(parent.run_id, status="FAILED" if failed or stuck else "FINISHED")
    return len(stuck)


def abort_sweep(parent: SweepParent, message: str) -> None:
    """Record why a sweep stopped early on its parent run, closing it FAILED if still open."""
    from mlflow.tracking import MlflowClient

    with _store_faults(parent.tracking_uri):
        client = MlflowClient(tracking_uri=parent.tracking_uri)
        client.set_tag(parent.run_id, "error", redact(message)[:500])
        if client.get_run(parent.run_id).info.status == "RUNNING":
            client.set_terminated(parent.run_id, status="FAILED")


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

    run_tags = {**_process_tags(), **(tags or {})}
    if parent is None:
        uri, artifacts = _reachable_uri(spec, cwd)
    else:
        if spec.tracking_uri:  # a job on another machine gets its credentials from its config
            credentials_to_env(spec.tracking_uri)
        uri, artifacts = parent.tracking_uri, None
        run_tags["mlflow.parentRunId"] = parent.run_id
    with _store_faults(uri):
        mlflow.set_tracking_uri(uri)
        if parent is None:
            with _store_lock(uri):
                client = MlflowClient(tracking_uri=uri)
                experiment_id = _experiment_id(client, spec, artifacts)
            close_stale_runs(client, experiment_id)
        else:
            client = MlflowClient(tracking_uri=uri)
            experiment_id = parent.experiment_id
        run = client.create_run(experiment_id, run_name=run_name, tags=run_tags)
    tracked = TrackedRun(run.info.run_id, uri, experiment_id, run.info.artifact_uri or "")
    try:
        with _store_faults(uri):
            _log_params(client, run.info.run_id, config)
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
    with _store_faults(uri):
        client.set_terminated(run.info.run_id, status="FINISHED")


def log_study(tracked: TrackedRun, result: Any, *, experiment_name: str, cwd: Path) -> None:
    """Log a finished study's metrics, tags and run folder to its open run."""
    from mlflow.entities import Metric, RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracked.tracking_uri)
    spec = result.spec
    report = result.data_report
    tags = {
        "cohort": spec.cohort.name,
        "target": spec.target.name if spec.target else "",
        "model": ",".join(m.name for m in spec.models),
        "primary_model": result.primary_model,
        "data_release": report.release_id,
        "data_sha256": report.source.sha256,
        "data_file": report.source.name,
        "package_version": __version__,
        "git_commit": git_commit(cwd),
        "experiment": experiment_name,
    }
    metrics = [Metric(k, float(v), 0, 0) for k, v in sorted(result.metrics.items())]
    with _store_faults(tracked.tracking_uri, artifacts=tracked.artifact_uri or "of the run"):
        for i in range(0, len(metrics), 500):
            client.log_batch(tracked.run_id, metrics=metrics[i : i + 500])
        client.log_batch(tracked.run_id, tags=[RunTag(k, v) for k, v in tags.items()])
        client.log_artifacts(tracked.run_id, str(result.out_dir))


def log_replication(tracked: TrackedRun, result: Any, *, experiment_name: str, cwd: Path) -> None:
    """Log a finished replication's metrics, tags and run folder (every release's study
    inside it) to its open run."""
    from mlflow.entities import Metric, RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracked.tracking_uri)
    spec = result.spec
    studies = result.studies
    tags = {
        "command": "replicate",
        "cohort": spec.cohort.name,
        "target": spec.target.name if spec.target else "",
        "model": ",".join(m.name for m in spec.models),
        "data_release": ",".join(s.data_report.release_id for s in studies),
        "data_sha256": ",".join(s.data_report.source.sha256 for s in studies)[:5000],
        "data_file": ",".join(s.data_report.source.name for s in studies)[:5000],
        "package_version": __version__,
        "git_commit": git_commit(cwd),
        "experiment": experiment_name,
    }
    metrics = [Metric(k, float(v), 0, 0) for k, v in sorted(result.metrics.items())]
    with _store_faults(tracked.tracking_uri, artifacts=tracked.artifact_uri or "of the run"):
        client.log_batch(tracked.run_id, metrics=metrics[:500])
        client.log_batch(tracked.run_id, tags=[RunTag(k, v) for k, v in tags.items()])
        client.log_artifacts(tracked.run_id, str(result.out_dir))


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
    _refuse_file_store(uri)
    with _store_faults(uri):
        return _fetch_runs(MlflowClient(tracking_uri=uri), uri, experiment, parent, run_ids)


def _fetch_runs(
    client: Any, uri: str, experiment: str | None, parent: str | None, run_ids: Sequence[str]
) -> list[RunSummary]:
    import csv
    import tempfile

    from mlflow.artifacts import download_artifacts
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
            try:
                path = download_artifacts(
                    run_id=run.info.run_id,
                    artifact_path="factors.csv",
                    dst_path=f"{tmp}/{i}",
                    tracking_uri=uri,
                )
                with open(path, newline="", encoding="utf-8") as fh:
                    rows = list(csv.DictReader(fh))
            except (MlflowException, OSError):
                log.warning("run %s has no factors.csv artifact", run.info.run_id)
            summaries.append(
                RunSummary(
                    run.info.run_id,
                    run.info.run_name or run.info.run_id[:8],
                    run.info.status,
                    dict(run.data.metrics),
                    dict(run.data.tags),
                    rows,
                    dict(run.data.params),
                )
            )
    return summaries
