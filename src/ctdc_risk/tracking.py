"""MLflow tracking: the only module that imports mlflow.

Every study becomes one MLflow run: the resolved config flattened into dotted params (values too
long for a param stay in the config artifact), the study's slash-named metrics, tags that make
runs comparable (cohort, target, models, release, data sha256, package version, git commit),
and the whole run folder as artifacts (already privacy-guarded; models are LightGBM text and
coefficients JSON, never pickles). A study that fails ends its run FAILED with the error as a
tag, never FINISHED.

Default store: ``mlflow.db`` (SQLite) and ``mlartifacts/`` in the directory the command runs
from; ``tracking.tracking_uri=URI`` chooses another store and ``tracking=none`` turns tracking
off.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ctdc_risk import __version__
from ctdc_risk.errors import ConfigError, reject_unknown_keys

log = logging.getLogger(__name__)
MAX_PARAM_CHARS = 500


@dataclass(frozen=True)
class TrackingSpec:
    """Where runs are tracked."""

    enabled: bool = True
    tracking_uri: str | None = None
    artifact_location: str | None = None
    experiment: str = "ctdc-risk"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, key: str = "tracking") -> TrackingSpec:
        reject_unknown_keys(data, set(cls.__dataclass_fields__), key)
        spec = cls(**dict(data))
        if not isinstance(spec.enabled, bool):
            raise ConfigError(f"{key}.enabled must be true or false; got {spec.enabled!r}.")
        if not spec.experiment:
            raise ConfigError(f"{key}.experiment must be a non-empty name.")
        return spec

    def resolved(self, cwd: Path) -> tuple[str, str]:
        """Tracking URI and artifact location (defaults: SQLite and a folder in ``cwd``)."""
        uri = self.tracking_uri or f"sqlite:///{(cwd / 'mlflow.db').resolve()}"
        artifacts = self.artifact_location or (cwd / "mlartifacts").resolve().as_uri()
        return uri, artifacts


def redact(uri: str) -> str:
    """Hide a password in a URI (``postgresql://user:secret@host`` -> ``user:***@host``)."""
    return re.sub(r"(//[^/:@]+):[^@/]*@", r"\1:***@", uri)


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Dotted params from a nested config; lists become JSON text."""
    out: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
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


@contextmanager
def track_study(
    spec: TrackingSpec, *, config: Mapping[str, Any], run_name: str, cwd: Path
) -> Iterator[TrackedRun]:
    """Open an MLflow run around a study; FAILED (with the error as a tag) if it raises."""
    import mlflow
    from mlflow.tracking import MlflowClient

    uri, artifacts = spec.resolved(cwd)
    mlflow.set_tracking_uri(uri)
    client = MlflowClient()
    experiment = client.get_experiment_by_name(spec.experiment)
    experiment_id = (
        experiment.experiment_id
        if experiment is not None
        else client.create_experiment(spec.experiment, artifact_location=artifacts)
    )
    run = client.create_run(experiment_id, run_name=run_name)
    tracked = TrackedRun(run.info.run_id, uri, experiment_id)
    params = {k: v for k, v in flatten(config).items() if len(v) <= MAX_PARAM_CHARS}
    items = sorted(params.items())
    from mlflow.entities import Param

    for i in range(0, len(items), 100):
        client.log_batch(run.info.run_id, params=[Param(k, v) for k, v in items[i : i + 100]])
    try:
        yield tracked
    except BaseException as exc:
        message = str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__
        client.set_tag(run.info.run_id, "error", redact(message))
        status = "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"
        client.set_terminated(run.info.run_id, status=status)
        raise
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
    for i in range(0, len(metrics), 500):
        client.log_batch(tracked.run_id, metrics=metrics[i : i + 500])
    client.log_batch(tracked.run_id, tags=[RunTag(k, v) for k, v in tags.items()])
    client.log_artifacts(tracked.run_id, str(result.out_dir))
