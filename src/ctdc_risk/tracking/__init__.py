"""MLflow tracking: the only package that imports mlflow.

Every study becomes one MLflow run, named by what it is (``children · family recruitment ·
synthetic 2021``) and described by the study's summary: headline params and scores that sort
first (``Cohort``, ``Target``, ``Model``, ``ROC AUC``), the resolved config flattened into
dotted params (values too long for a param stay in the config artifact), the study's
slash-named metrics, each labelled factor level's odds ratio, interval and SHAP importance
(``factor/<factor>/<level>/or``), the data as a dataset input (name, release, sha256, rows,
source; never a row), tags that make runs comparable, and the whole run folder as artifacts
(already privacy-guarded; models are LightGBM text and coefficients JSON, never pickles). A
study that fails ends its run FAILED with the error as a tag, never FINISHED. Experiments are
created as model training (the UI's experiment kind) with the question they answer as their
description.

Default store: ``mlflow.db`` (SQLite) and ``mlartifacts/`` in the directory the command runs
from; ``tracking.tracking_uri=URI`` chooses another store and ``tracking=none`` turns tracking
off. A store that is damaged, read-only or full is a :class:`~ctdc_risk.errors.TrackingError`
naming it and saying what to do, never a database traceback; opening a SQLite store takes a
lock beside it, so studies started together never both create its tables.

One module per job: ``store`` (spec, URIs, lock, experiment), ``faults`` (store errors in one
line), ``runs`` (a run's lifecycle, stale runs), ``keys`` (params and metric keys), ``naming``
(names and descriptions), ``dataset`` (the dataset input), ``results`` (logging a study or a
replication), ``sweeps`` (a sweep's parent run), ``fetch`` (runs for ``compare``). mlflow is
imported inside the functions that use it, so importing this package stays fast.
"""

from ctdc_risk.tracking.faults import redact
from ctdc_risk.tracking.fetch import fetch_runs
from ctdc_risk.tracking.keys import MAX_PARAM_CHARS, factor_key, factor_metrics, flatten
from ctdc_risk.tracking.naming import child_run_name, study_run_name, sweep_run_name
from ctdc_risk.tracking.results import git_commit, log_replication, log_study
from ctdc_risk.tracking.runs import TrackedRun, close_stale_runs, track_study
from ctdc_risk.tracking.store import (
    EXPERIMENT_KIND,
    PROBE_TIMEOUT_S,
    TrackingSpec,
    credentials_to_env,
    runs_page,
)
from ctdc_risk.tracking.sweeps import SweepParent, abort_sweep, finish_sweep, start_sweep

__all__ = [
    "EXPERIMENT_KIND",
    "MAX_PARAM_CHARS",
    "PROBE_TIMEOUT_S",
    "SweepParent",
    "TrackedRun",
    "TrackingSpec",
    "abort_sweep",
    "child_run_name",
    "close_stale_runs",
    "credentials_to_env",
    "factor_key",
    "factor_metrics",
    "fetch_runs",
    "finish_sweep",
    "flatten",
    "git_commit",
    "log_replication",
    "log_study",
    "redact",
    "runs_page",
    "start_sweep",
    "study_run_name",
    "sweep_run_name",
    "track_study",
]
