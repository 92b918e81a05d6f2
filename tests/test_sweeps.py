"""Sweeps through the real CLI: parent and child MLflow runs, parallel jobs, failed jobs and
the submitit launcher (local executor). Optuna tuning is in test_tuning.py."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).with_name("ctdc-risk"))
# One small, quick study per job: 2,000 synthetic rows, logistic only, 2 bootstrap refits.
SMALL = ["debug=default", "model=logistic", "stability.n_boot=2", "stability.n_jobs=1"]
JOBLIB = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]


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


@pytest.fixture(scope="module")
def five_sweeps(tmp_path_factory):
    """The same 8-job sweep with the joblib launcher (2 workers), five times on one store."""
    cwd = tmp_path_factory.mktemp("sweeps")
    seeds = "seed=" + ",".join(str(s) for s in range(1, 9))
    outs = [
        cli("-m", *SMALL, seeds, *JOBLIB, f"hydra.sweep.dir=sweeps/{i}", cwd=cwd) for i in range(5)
    ]
    return cwd, outs


def test_five_parallel_sweeps_lose_no_run(five_sweeps):
    cwd, outs = five_sweeps
    for out in outs:
        assert out.returncode == 0, out.stderr[-3000:]
        assert "database is locked" not in out.stderr + out.stdout
    parents, children = split(all_runs(client_for(cwd)))
    assert len(parents) == 5
    assert len(children) == 40
    assert {r.info.status for r in parents + children} == {"FINISHED"}
    for parent in parents:
        mine = [c for c in children if c.data.tags["mlflow.parentRunId"] == parent.info.run_id]
        assert sorted(int(c.data.tags["sweep_job"]) for c in mine) == list(range(8))
        assert parent.data.metrics["sweep/n_jobs"] == 8
        assert parent.data.metrics["sweep/n_failed"] == 0
    child = children[0]
    assert "cv/roc_auc_mean" in child.data.metrics
    assert child.data.params["model.use"] == '["logistic"]'
    assert child.info.run_name.startswith("debug=default")


def test_each_parent_carries_a_summary_of_its_children(five_sweeps):
    cwd, outs = five_sweeps
    client = client_for(cwd)
    parents, children = split(all_runs(client))
    for parent in parents:
        names = {a.path for a in client.list_artifacts(parent.info.run_id)}
        assert {"sweep_summary.csv", "sweep_summary.md"} <= names
    with open(cwd / "sweeps" / "0" / "sweep_summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["job"]) for r in rows] == list(range(8))
    assert {r["status"] for r in rows} == {"finished"}
    child_ids = {c.info.run_id for c in children}
    assert {r["run_id"] for r in rows} <= child_ids
    best = max(float(r["cv/roc_auc_mean"]) for r in rows)
    parent_of_0 = next(p for p in parents if p.info.run_id in outs[0].stdout.replace("\n", ""))
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
