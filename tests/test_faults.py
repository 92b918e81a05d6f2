"""Faults mid-run, through the real CLI: SIGKILL, SIGTERM, an unreachable tracking server,
and runs started at the same moment."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).with_name("ctdc-risk"))
# Long enough to be caught mid-run: many bootstrap refits on small data.
SLOW = ["debug=default", "model=logistic", "stability.n_boot=5000", "stability.n_jobs=1"]
ENV = {**os.environ, "HYDRA_FULL_ERROR": "0"}


def cli(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=ENV
    )


def client_for(cwd: Path):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{cwd / 'mlflow.db'}")


def _running_run_of(db: Path, pid: int) -> str | None:
    """The RUNNING run tagged with ``pid``, read-only: an MLflow client here could race the
    CLI's creation of the store's tables."""
    if not db.exists():
        return None
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            row = con.execute(
                "SELECT r.run_uuid FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid "
                "WHERE r.status = 'RUNNING' AND t.key = 'pid' AND t.value = ?",
                (str(pid),),
            ).fetchone()
    except sqlite3.Error:  # tables not created yet, or locked for a moment
        return None
    return str(row[0]) if row else None


def start_and_wait_for_running_run(cwd: Path, run_dir: str) -> tuple[subprocess.Popen, str]:
    """Start a slow study and return once its MLflow run is RUNNING and the study under way."""
    proc = subprocess.Popen(
        [EXE, *SLOW, f"hydra.run.dir={run_dir}"], cwd=cwd, env=ENV,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        run_id = _running_run_of(cwd / "mlflow.db", proc.pid)
        if run_id:
            time.sleep(3)  # into the study (5,000 refits take minutes)
            return proc, run_id
        if proc.poll() is not None:
            pytest.fail(f"the study ended before it could be stopped: {proc.stderr.read()}")
        time.sleep(0.2)
    proc.kill()
    pytest.fail("the study's MLflow run did not appear within 180 s")


def test_a_killed_study_is_marked_failed_by_the_next_run(tmp_path):
    proc, run_id = start_and_wait_for_running_run(tmp_path, "killed")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert client_for(tmp_path).get_run(run_id).info.status == "RUNNING"  # nobody closed it
    out = cli("debug=default", "model=logistic", "stability.n_boot=2", "hydra.run.dir=next",
              cwd=tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    run = client_for(tmp_path).get_run(run_id)
    assert run.info.status == "FAILED"
    assert run.info.end_time is not None
    assert "ended without closing its run" in run.data.tags["error"]
    assert not (tmp_path / "killed" / "report.html").exists()


def test_sigterm_ends_the_run_killed_with_an_end_time(tmp_path):
    proc, run_id = start_and_wait_for_running_run(tmp_path, "terminated")
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "Traceback" not in stderr
    assert "terminated by SIGTERM" in stderr
    run = client_for(tmp_path).get_run(run_id)
    assert run.info.status == "KILLED"
    assert run.info.end_time is not None
    folder = tmp_path / "terminated"
    assert not (folder / "report.html").exists()
    assert not list(folder.rglob("*.tmp")), "a half-written file was left behind"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_tracking_server_is_named_quickly(tmp_path):
    uri = f"http://127.0.0.1:{_closed_port()}"
    started = time.monotonic()
    out = cli("debug=default", f"tracking.tracking_uri={uri}", "hydra.run.dir=run", cwd=tmp_path)
    assert time.monotonic() - started < 30
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert f"tracking server {uri} did not answer" in out.stderr
    assert not (tmp_path / "run" / "report.html").exists()


def test_an_unreachable_server_can_fall_back_to_the_local_store(tmp_path):
    uri = f"http://127.0.0.1:{_closed_port()}"
    fallback = [f"tracking.tracking_uri={uri}", "tracking.fallback_to_local=true"]
    out = cli("debug=default", "model=logistic", "stability.n_boot=2", *fallback, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "did not answer" in out.stdout + out.stderr
    runs = client_for(tmp_path).search_runs(["1"])
    assert [r.info.status for r in runs] == ["FINISHED"]


def test_an_unreachable_server_stops_a_sweep_before_any_job(tmp_path):
    uri = f"http://127.0.0.1:{_closed_port()}"
    out = cli("-m", "debug=default", "seed=1,2", f"tracking.tracking_uri={uri}", cwd=tmp_path)
    assert out.returncode == 2
    assert "did not answer" in out.stderr and "Traceback" not in out.stderr
    assert not list(tmp_path.glob("multirun/*/*/0/report.html"))


def test_runs_started_together_get_their_own_folders(tmp_path):
    procs = [
        subprocess.Popen([EXE, "describe", "debug=default"], cwd=tmp_path, env=ENV,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(4)
    ]  # fmt: skip
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0, 0]
    folders = list(tmp_path.glob("outputs/*/*"))
    assert len(folders) == 4
    assert all((f / "headline.md").exists() for f in folders)
