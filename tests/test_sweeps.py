"""Sweeps through the real CLI: parent and child MLflow runs, parallel jobs, failed jobs and
the submitit launcher (local executor). Optuna tuning is in test_tuning.py."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import N_SWEEP_JOBS, N_SWEEPS
from conftest import SWEEP_JOB as SMALL

EXE = str(Path(sys.executable).with_name("ctdc-risk"))
# Real sweeps, each job a study in its own process.
pytestmark = pytest.mark.slow


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *args], cwd=cwd, capture_output=True, text=True, timeout=900,
        env={**os.environ, "HYDRA_FULL_ERROR": "0"},
    )  # fmt: skip


def client_for(cwd: Path):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{cwd / 'mlflow.db'}")


def all_runs(client, experiment: str = "ctdc-risk"):
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment}"
    return client.search_runs([found.experiment_id], max_results=10_000)


def split(runs):
    parents = [r for r in runs if r.data.tags.get("sweep") == "parent"]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return parents, children


def test_parallel_sweeps_lose_no_run(tracked_sweeps):
    """Sweeps started together, each with 2 parallel jobs, write to one new store: no run is
    lost, none is left RUNNING, and the store never reports being locked."""
    for out in [*tracked_sweeps.seeds, tracked_sweeps.comparison]:
        assert out.returncode == 0, out.stderr[-3000:]
        assert "database is locked" not in out.stderr + out.stdout
    parents, children = split(all_runs(tracked_sweeps.client()))
    assert len(parents) == N_SWEEPS
    assert len(children) == N_SWEEPS * N_SWEEP_JOBS
    assert {r.info.status for r in parents + children} == {"FINISHED"}
    for parent in parents:
        mine = [c for c in children if c.data.tags["mlflow.parentRunId"] == parent.info.run_id]
        assert sorted(int(c.data.tags["sweep_job"]) for c in mine) == list(range(N_SWEEP_JOBS))
        assert parent.data.metrics["sweep/n_jobs"] == N_SWEEP_JOBS
        assert parent.data.metrics["sweep/n_failed"] == 0
    child = children[0]
    assert "cv/roc_auc_mean" in child.data.metrics
    assert child.data.params["model.use"] == '["logistic"]'
    # Named by the swept key only, never by the fixed overrides (debug=default, model=...).
    assert child.info.run_name == f"seed {child.data.params['seed']}"
    # The sweep started beside them, in another experiment of the same store, lost none either.
    parents, children = split(all_runs(tracked_sweeps.client(), "model_comparison"))
    assert len(parents) == 1 and len(children) == 6
    assert {r.info.status for r in parents + children} == {"FINISHED"}


def test_each_parent_carries_a_summary_of_its_children(tracked_sweeps):
    client = tracked_sweeps.client()
    parents, children = split(all_runs(client))
    for parent in parents:
        names = {a.path for a in client.list_artifacts(parent.info.run_id)}
        assert {"sweep_summary.csv", "sweep_summary.md"} <= names
    with open(tracked_sweeps.cwd / "sweeps" / "0" / "sweep_summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["job"]) for r in rows] == list(range(N_SWEEP_JOBS))
    assert {r["status"] for r in rows} == {"finished"}
    child_ids = {c.info.run_id for c in children}
    assert {r["run_id"] for r in rows} <= child_ids
    best = max(float(r["cv/roc_auc_mean"]) for r in rows)
    stdout = tracked_sweeps.seeds[0].stdout.replace("\n", "")
    parent_of_0 = next(p for p in parents if p.info.run_id in stdout)
    assert parent_of_0.data.metrics["sweep/best_cv_roc_auc_mean"] == pytest.approx(best)


def test_a_failed_job_does_not_stop_the_others_and_is_named(tmp_path):
    # privacy.k=100000 leaves too few cases: job 1 fails, job 2 must still run.
    out = cli("-m", *SMALL, "privacy.k=10,100000,11", cwd=tmp_path)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert "1 of 3 sweep jobs failed" in out.stderr
    assert "job 1 (" in out.stderr and "privacy.k=100000" in out.stderr
    sweep_dir = next(tmp_path.glob("multirun/*/*"))
    assert (sweep_dir / "0" / "report.html").exists()
    assert (sweep_dir / "2" / "report.html").exists()
    assert not (sweep_dir / "1" / "report.html").exists()
    parents, children = split(all_runs(client_for(tmp_path)))
    assert [p.info.status for p in parents] == ["FAILED"]
    status = {c.data.tags["sweep_job"]: c.info.status for c in children}
    assert status == {"0": "FINISHED", "1": "FAILED", "2": "FINISHED"}
    failed = next(c for c in children if c.info.status == "FAILED")
    assert "fewer than privacy.k = 100000" in failed.data.tags["error"]
    summary = (sweep_dir / "sweep_summary.md").read_text()
    assert "| 1 |" in summary and "failed" in summary


def test_a_failed_job_is_named_without_tracking_too(tmp_path):
    out = cli("-m", *SMALL, "tracking=none", "privacy.k=100000,10", cwd=tmp_path)
    assert out.returncode == 1
    assert "1 of 2 sweep jobs failed" in out.stderr and "job 0 (" in out.stderr
    assert not (tmp_path / "mlflow.db").exists()
    sweep_dir = next(tmp_path.glob("multirun/*/*"))
    assert (sweep_dir / "1" / "report.html").exists()


def test_submitit_launcher_runs_the_same_study(tmp_path):
    """The slurm preset's jobs through submitit's local executor (no cluster needed)."""
    out = cli("-m", *SMALL, "seed=1,2", "hydra/launcher=slurm_local", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    sweep_dir = next(tmp_path.glob("multirun/*/*"))
    assert (sweep_dir / ".submitit").is_dir()
    parents, children = split(all_runs(client_for(tmp_path)))
    assert len(parents) == 1 and len(children) == 2
    assert {c.info.status for c in children} == {"FINISHED"}
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parents[0].info.run_id}
