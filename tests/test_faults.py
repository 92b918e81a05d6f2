"""Faults mid-run, through the real CLI: SIGKILL, SIGTERM, an unreachable tracking server,
runs started at the same moment, and MLflow stores and run folders that are damaged, read-only
or full.

Read-only and full disks are real: a read-only bind mount and a small tmpfs, made in a private
mount namespace (``unshare``) that only the command under test sees. Permission bits would not
do: tests may run as root, which ignores them.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CliResult, run_cli_in_process

EXE = str(Path(sys.executable).with_name("ctdc-risk"))
# Real processes killed, stopped and starved mid-run.
pytestmark = pytest.mark.slow
# Long enough to be caught mid-run: many bootstrap refits on small data.
SLOW = ["debug=default", "model=logistic", "stability.n_boot=5000", "stability.n_jobs=1"]
ENV = {**os.environ, "HYDRA_FULL_ERROR": "0"}
TINY = ["data.n_rows=2000", "stability.n_boot=2", "cv.n_splits=3", "model=logistic",
        "targeting=off"]  # fmt: skip
UNSHARE = [shutil.which("unshare") or "unshare", "--mount", "--map-root-user",
           "--propagation", "private"]  # fmt: skip


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
    marker = (tmp_path / "killed" / "INCOMPLETE").read_text()
    assert f"by process {proc.pid}" in marker and "status: running" in marker
    assert not (tmp_path / "next" / "INCOMPLETE").exists()


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
    assert "status: stopped: terminated by SIGTERM" in (folder / "INCOMPLETE").read_text()


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


# --- MLflow stores and run folders that are damaged, read-only or full ------------------------


@pytest.fixture(scope="session")
def private_mounts(tmp_path_factory) -> None:
    """Skip unless this machine lets a command mount in a private namespace (root, or
    unprivileged user namespaces)."""
    if shutil.which("unshare") is None:
        pytest.skip("no `unshare` command (util-linux): cannot make a read-only or full disk")
    folder = tmp_path_factory.mktemp("mount_probe")
    out = subprocess.run(
        [*UNSHARE, "mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
        capture_output=True, text=True,
    )  # fmt: skip
    if out.returncode != 0:
        pytest.skip(f"cannot mount in a private namespace here: {out.stderr.strip()}")


def cli_with_mounts(
    mounts: str, *args: str, cwd: Path, after: str = ""
) -> subprocess.CompletedProcess[str]:
    """The CLI in a private mount namespace prepared by the shell commands ``mounts``; the
    shell commands ``after`` run in it too (its disks are gone once it ends)."""
    script = f'set -e; {mounts}; set +e; "$@"; rc=$?; {after or ":"}; exit $rc'
    return subprocess.run(
        [*UNSHARE, "sh", "-c", script, "sh", EXE, *args], cwd=cwd, capture_output=True,
        text=True, timeout=300, env=ENV,
    )  # fmt: skip


def read_only(folder: Path) -> str:
    q = shlex.quote(str(folder))
    return f"mount --bind {q} {q}; mount -o remount,bind,ro {q}"


def small_disk(folder: Path, size: str) -> str:
    return f"mount -t tmpfs -o size={size} tmpfs {shlex.quote(str(folder))}"


def fill(folder: Path) -> str:
    return f"dd if=/dev/zero of={shlex.quote(str(folder))}/filler bs=4k 2>/dev/null || true"


@pytest.fixture(scope="session")
def mlflow_store(tmp_path_factory) -> Path:
    """A real MLflow SQLite store with the ctdc-risk experiment, to copy."""
    from mlflow.tracking import MlflowClient

    db = tmp_path_factory.mktemp("store") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{db}").create_experiment("ctdc-risk")
    return db


def assert_one_line_error(
    out: subprocess.CompletedProcess[str] | CliResult, *fragments: str
) -> None:
    assert out.returncode == 2, out.stderr[-3000:]
    assert "Traceback" not in out.stderr + out.stdout, out.stderr[-3000:]
    errors = [ln for ln in out.stderr.splitlines() if ln.startswith("ctdc-risk: error: ")]
    assert len(errors) == 1, out.stderr[-3000:]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_store_is_named_with_what_to_do(tmp_path, mlflow_store, damage):
    db = tmp_path / "mlflow.db"
    if damage == "garbage":
        db.write_bytes(os.urandom(8192))
    else:
        db.write_bytes(mlflow_store.read_bytes()[:20_000])
    out = run_cli_in_process(*TINY, "hydra.run.dir=run", cwd=tmp_path)  # no signal, no mount
    assert_one_line_error(out, f"MLflow store sqlite:///{db} is damaged", f"move {db} aside",
                          "tracking=none")  # fmt: skip
    assert not (tmp_path / "run" / "report.html").exists()
    assert "status: failed: MLflow store" in (tmp_path / "run" / "INCOMPLETE").read_text()


def test_a_folder_store_uri_is_refused_with_what_to_use(tmp_path):
    uri = (tmp_path / "mlruns").as_uri()
    out = run_cli_in_process(*TINY, f"tracking.tracking_uri={uri}", cwd=tmp_path)
    assert_one_line_error(out, "is a folder store (mlruns)", "tracking.tracking_uri=sqlite:///")
    assert not (tmp_path / "mlruns").exists()


def test_a_read_only_store_is_named_with_what_to_do(tmp_path, private_mounts, mlflow_store):
    store = tmp_path / "store"
    store.mkdir()
    shutil.copy(mlflow_store, store / "mlflow.db")
    out = cli_with_mounts(read_only(store), *TINY, f"hydra.run.dir={tmp_path / 'run'}", cwd=store)
    assert_one_line_error(out, f"MLflow store sqlite:///{store / 'mlflow.db'} cannot be written",
                          "readonly database", "writable")  # fmt: skip


def test_a_full_store_is_named_with_what_to_do(tmp_path, private_mounts, mlflow_store):
    store = tmp_path / "store"
    store.mkdir()
    copy = f"cp {shlex.quote(str(mlflow_store))} {shlex.quote(str(store))}/"
    mounts = f"{small_disk(store, '2m')}; {copy}; {fill(store)}"
    out = cli_with_mounts(mounts, *TINY, f"hydra.run.dir={tmp_path / 'run'}", cwd=store)
    assert_one_line_error(out, f"MLflow store sqlite:///{store / 'mlflow.db'} cannot be written: "
                          "its disk is full", "Free space")  # fmt: skip


def test_a_read_only_run_folder_is_named_before_anything_runs(tmp_path, private_mounts):
    parent = tmp_path / "ro"
    parent.mkdir()
    run = parent / "run"
    out = cli_with_mounts(read_only(parent), *TINY, "tracking=none", f"hydra.run.dir={run}",
                          cwd=tmp_path)  # fmt: skip
    assert_one_line_error(out, f"cannot write to {run}", "read-only", "hydra.run.dir=DIR")
    sweep = cli_with_mounts(read_only(parent), "-m", *TINY, "tracking=none", "seed=1,2",
                            f"hydra.sweep.dir={run}", cwd=tmp_path)  # fmt: skip
    assert_one_line_error(sweep, f"cannot write to {run}", "read-only")


def test_a_run_folder_that_fills_up_says_so_and_stays_incomplete(tmp_path, private_mounts):
    disk = tmp_path / "disk"
    disk.mkdir()
    run = disk / "run"
    # room for the first files but not for the report (about 400 kB)
    show = f"cat {run}/INCOMPLETE; ls {run}"
    out = cli_with_mounts(small_disk(disk, "200k"), *TINY, "tracking=none",
                          f"hydra.run.dir={run}", cwd=tmp_path, after=show)  # fmt: skip
    assert_one_line_error(out, f"cannot write to {run}", "its disk is full", "hydra.run.dir=DIR")
    assert "status: failed: cannot write to" in out.stdout
    # `ls` lists one name per line; the marker's message may name the file that did not fit.
    listed = out.stdout.splitlines()
    assert "factors.csv" in listed and "report.html" not in listed
    full = cli_with_mounts(f"{small_disk(disk, '64k')}; {fill(disk)}", *TINY, "tracking=none",
                           f"hydra.run.dir={run}", cwd=tmp_path)  # fmt: skip
    assert_one_line_error(full, f"cannot write to {run}", "its disk is full")


# --- a Ctrl-C that Python swallowed ------------------------------------------------------------

# The CLI, with Ctrl-C arriving while the garbage collector runs a callback in the main thread
# once the study is under way: Python cannot raise KeyboardInterrupt there, reports it as
# "Exception ignored" and carries on, as it did once in seven tries by hand.
CTRL_C_IN_GC = """
import gc, os, signal, sys, threading
from ctdc_risk.cli.main import main

sent = []

def interrupt_inside_gc(phase, info):
    if sent or phase != "start" or threading.current_thread() is not threading.main_thread():
        return
    if "ctdc_risk.pipeline.study" in sys.modules:
        sent.append(True)
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10_000):  # the signal handler runs here, inside the callback
            pass

gc.callbacks.append(interrupt_inside_gc)
# Ctrl-C as from a terminal, however the suite was started: a shell's `cmd &` starts it with
# SIGINT ignored, which every child inherits (and the CLI then leaves it ignored).
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.argv = ["ctdc-risk", *sys.argv[1:]]
main()
"""


def test_a_ctrl_c_python_swallowed_still_stops_the_run_killed(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", CTRL_C_IN_GC, *TINY, "hydra.run.dir=run"], cwd=tmp_path,
        capture_output=True, text=True, timeout=300, env=ENV,
    )  # fmt: skip
    assert out.returncode == 130, out.stderr[-3000:]
    assert "ctdc-risk: stopped (interrupted by Ctrl-C)" in out.stderr
    assert "Traceback" not in out.stderr and "Exception ignored" not in out.stderr
    runs = client_for(tmp_path).search_runs(["1"])
    assert [r.info.status for r in runs] == ["KILLED"]
    assert runs[0].data.tags["error"] == "interrupted by Ctrl-C"
    assert not (tmp_path / "run" / "report.html").exists()
    marker = (tmp_path / "run" / "INCOMPLETE").read_text()
    assert "status: stopped: interrupted by Ctrl-C" in marker


# --- a killed sweep's workers ------------------------------------------------------------------


def _children_of(pids: set[int]) -> set[int]:
    """Every live descendant of ``pids`` (read from /proc)."""
    found: set[int] = set()
    parents = set(pids)
    while parents:
        new = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid, state, ppid = int(stat.parent.name), fields[0], int(fields[1])
            if ppid in parents and state != "Z" and pid not in found:
                new.add(pid)
        found |= new
        parents = new
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_joblib_workers_die_with_a_killed_sweep(tmp_path):
    proc = subprocess.Popen(
        [EXE, "-m", *SLOW, "seed=1,2", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
         "tracking=none", "hydra.sweep.dir=sweep"],
        cwd=tmp_path, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    jobs = tmp_path / "sweep" / ".sweep" / "jobs"
    deadline = time.monotonic() + 180
    while len(list(jobs.glob("*.json"))) < 2:  # both jobs under way in their workers
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("the sweep's two jobs did not start")
        time.sleep(0.2)
    workers = _children_of({proc.pid})
    proc.kill()
    proc.wait(timeout=60)
    deadline = time.monotonic() + 20
    while _alive(workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = _alive(workers)
    for pid in left:  # leave nothing running, whatever the verdict
        os.kill(pid, signal.SIGKILL)
    assert len(workers) >= 2
    assert not left, f"{len(left)} worker processes outlived the killed sweep"
    for num in (0, 1):
        marker = (tmp_path / "sweep" / str(num) / "INCOMPLETE").read_text()
        assert f"the sweep's launching process {proc.pid} ended" in marker
