"""Shared fixtures: the real-data path, a writer of small hand-made old-release files, the CLI
run in this process, and the heavy results every module reads: one small study and one set of
tracked sweeps, each built once per test session (once in all, under pytest-xdist)."""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import logging
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ctdc_risk.data.releases import GLOBAL_2017_2021

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_CTDC_DIR = REPO_ROOT / ".." / "shared" / "data" / "ctdc"
REAL_SYNTHETIC_2021 = REAL_CTDC_DIR / "ctdc_synthetic_20210825_reconstructed.csv"

# Defaults for the old (63-column) release: text columns hold a plausible value or "-99",
# every flag is "-99" (missing) unless a row says otherwise.
OLD_RELEASE_DEFAULTS: dict[str, str] = {
    "yearOfRegistration": "2015",
    "Datasource": "Case Management",
    "gender": "Female",
    "ageBroad": "-99",
    "majorityStatus": "-99",
    "majorityStatusAtExploit": "-99",
    "citizenship": "UA",
    "CountryOfExploitation": "RU",
    "RecruiterRelationship": "-99",
}

OldReleaseWriter = Callable[..., Path]


# Files whose tests run longest (real sweeps, tuning, packaging, servers) go first: with two
# workers taking whole files in collection order, a long file collected last leaves one core
# idle at the end. Order within a file, and every test, stay as they are.
LONG_FILES_FIRST = (
    "test_compare.py", "test_tuning.py", "test_team_server.py", "test_packaging.py",
    "test_faults.py", "test_mlflow_ui.py", "test_mutations.py", "test_malformed_inputs.py",
    "test_sweeps.py", "test_real_data.py", "test_replication.py", "test_study.py",
)  # fmt: skip


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONG_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: file order kept


def pytest_configure(config: pytest.Config) -> None:
    # Rich sizes its output from COLUMNS when stdout is not a terminal, and subprocesses inherit
    # it: pin it, so no test depends on the terminal the suite runs in. The console never wraps
    # a line anyway (tests/test_console.py checks 40 and 300 columns).
    os.environ["COLUMNS"] = "80"


@pytest.fixture(scope="session")
def real_synthetic_2021_path() -> Path:
    """CTDC's real synthetic 2021 file, or skip: it may not be redistributed with the project."""
    if not REAL_SYNTHETIC_2021.is_file():
        pytest.skip(
            f"real CTDC data not present at {REAL_SYNTHETIC_2021.resolve()} "
            "(never committed; place ../shared/data/ctdc next to the project to run this test)"
        )
    return REAL_SYNTHETIC_2021


@pytest.fixture
def write_old_release(tmp_path: Path) -> OldReleaseWriter:
    """Return ``write(rows, name=..., header=..., drop=..., line_end=...) -> Path``.

    Builds a 63-column global_2017_2021 CSV from a few dict rows (release column -> raw text);
    unspecified cells take :data:`OLD_RELEASE_DEFAULTS`, else ``"-99"``. ``header`` maps a
    release column to the name written in the header, ``drop`` leaves columns out and ``extra``
    adds columns (name -> value for every row).
    """

    def write(
        rows: Iterable[Mapping[str, str]],
        *,
        name: str = "old_release.csv",
        header: Mapping[str, str] | None = None,
        drop: Iterable[str] = (),
        extra: Mapping[str, str] | None = None,
    ) -> Path:
        dropped = set(drop)
        columns = [c for c in GLOBAL_2017_2021.columns if c not in dropped]
        extra = dict(extra or {})
        names = [(header or {}).get(c, c) for c in columns] + list(extra)
        path = tmp_path / name
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(names)
            for row in rows:
                cells = [row.get(c, OLD_RELEASE_DEFAULTS.get(c, "-99")) for c in columns]
                writer.writerow(cells + list(extra.values()))
        return path

    return write


# --- the CLI in this process ---------------------------------------------------------------


@dataclass(frozen=True)
class CliResult:
    """What a ``ctdc-risk`` run gave: its exit code and all it printed (like CompletedProcess)."""

    returncode: int
    stdout: str
    stderr: str


@contextlib.contextmanager
def _process_state_kept() -> Iterator[None]:
    """Put back everything ``ctdc_risk.cli.main.main`` changes in its process: argv, environment,
    working folder, signal handlers, the unraisable hook, logging (Hydra configures the root
    logger and opens the run's log file) and Hydra's global state."""
    from hydra.core.global_hydra import GlobalHydra

    from ctdc_risk.cli import stop, sweep

    argv, environ, cwd = sys.argv[:], dict(os.environ), os.getcwd()
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    unraisable, raise_exceptions = sys.unraisablehook, logging.raiseExceptions
    loggers = [logging.getLogger(), logging.getLogger("ctdc_risk")]
    saved = [(lg, lg.handlers[:], lg.level, lg.propagate) for lg in loggers]
    # A tracked run sets MLflow's process-wide tracking URI; put it back for the next test.
    mlflow_uri = sys.modules["mlflow"].get_tracking_uri() if "mlflow" in sys.modules else None
    GlobalHydra.instance().clear()
    try:
        yield
    finally:
        GlobalHydra.instance().clear()
        for lg, old, level, propagate in saved:
            for handler in lg.handlers:
                if handler not in old:
                    handler.close()
            lg.handlers[:] = old
            lg.setLevel(level)
            lg.propagate = propagate
        sys.argv[:] = argv
        os.environ.clear()
        os.environ.update(environ)
        os.chdir(cwd)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        sys.unraisablehook, logging.raiseExceptions = unraisable, raise_exceptions
        stop.STOP.reason = ""
        sweep._launched.clear()
        if mlflow_uri is not None:
            import mlflow

            mlflow.set_tracking_uri(mlflow_uri)


def run_cli_in_process(*args: str, cwd: Path, columns: int = 80) -> CliResult:
    """Run ``ctdc-risk ARGS`` in this process, from ``cwd``; return its exit code and output.

    For the many cases that only need the exit code and the message (user mistakes: bad
    overrides, config keys and files): the heavy libraries are already imported, so a case takes
    a fraction of a second instead of a process start. An exception that would end a real
    process with a traceback is written to ``stderr`` as one, with exit code 1, so a check
    that no traceback reaches the user still fails when one would. What only a real process
    shows (signals, a payload that must not execute, the installed script) stays with
    subprocess tests.
    """
    from ctdc_risk.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with _process_state_kept():
        os.chdir(cwd)
        os.environ.update({"HYDRA_FULL_ERROR": "0", "COLUMNS": str(columns)})
        sys.argv = ["ctdc-risk", *args]
        code: int
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                main()
            code = 0
        except SystemExit as exc:
            if exc.code is None or isinstance(exc.code, int):
                code = exc.code or 0
            else:  # sys.exit("message"): Python prints it and exits 1
                err.write(f"{exc.code}\n")
                code = 1
        except BaseException:  # what a real process would end with: a traceback, exit 1
            err.write(traceback.format_exc())
            code = 1
    return CliResult(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli_in_process() -> Callable[..., CliResult]:
    """``run(*args, cwd=PATH, columns=80) -> CliResult``: :func:`run_cli_in_process`."""
    return run_cli_in_process


# --- heavy results built once per session ---------------------------------------------------

T = TypeVar("T")
EXE = str(Path(sys.executable).with_name("ctdc-risk"))


def build_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], T]
) -> T:
    """``build(folder)`` once per test session, its result shared by every test (and worker).

    Under pytest-xdist every worker runs session fixtures itself; the first one to get here
    builds into a folder all workers share (their common temporary root) and pickles the result,
    the others wait on a lock and read it. Without xdist this is simply ``build(folder)``.
    """
    # An xdist worker's temporary root is the run's root / popen-gwN (the variable alone is
    # inherited by any pytest a test starts, e.g. tests/test_packaging.py's).
    worker, base = os.environ.get("PYTEST_XDIST_WORKER"), tmp_path_factory.getbasetemp()
    if not worker or base.name != f"popen-{worker}":
        return build(tmp_path_factory.mktemp(name))
    root = base.parent  # pytest-of-USER/pytest-N: this run's, shared by its workers
    folder = root / f"shared-{name}"
    done = root / f"shared-{name}.pickle"
    with open(root / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if done.is_file():
            result: T = pickle.loads(done.read_bytes())
            return result
        folder.mkdir()
        result = build(folder)
        done.write_bytes(pickle.dumps(result))
        return result


class _StepRecorder:
    """A Progress that remembers each step's name, total and units done."""

    def __init__(self) -> None:
        self.steps: list[list[Any]] = []

    def step(self, name: str, total: int | None = None) -> None:
        self.steps.append([name, total, 0])

    def advance(self, n: int = 1) -> None:
        self.steps[-1][2] += n


# The session study: the smallest settings that keep every check on it meaningful (the planted
# factors rank and label right; 8 refits give intervals; 3 folds; both models).
SMALL_STUDY = ["data.n_rows=40000", "stability.n_boot=8", "stability.n_jobs=1", "cv.n_splits=3"]


@dataclass(frozen=True)
class SmallStudy:
    """The session study: its result, and each progress step as ``[name, total, done]``."""

    result: Any  # ctdc_risk.pipeline.study.StudyResult
    steps: list[list[Any]]


@pytest.fixture(scope="session")
def small_study(tmp_path_factory: pytest.TempPathFactory) -> SmallStudy:
    """One study of the default question on 40,000 synthetic rows (:data:`SMALL_STUDY`), run
    once per session with ``run_study`` (no tracking). Read it, never change its folder: a test
    that writes copies ``small_study.result.out_dir`` first (``shutil.copytree``)."""

    def build(folder: Path) -> SmallStudy:
        from ctdc_risk.cli.compose import compose_spec
        from ctdc_risk.pipeline.study import run_study

        recorder = _StepRecorder()
        result = run_study(compose_spec(SMALL_STUDY), folder / "study", progress=recorder)
        return SmallStudy(result, recorder.steps)

    return build_once(tmp_path_factory, "small_study", build)


# Each sweep job: 2,000 synthetic rows, logistic only, 2 bootstrap refits, one process.
SWEEP_JOB = ["debug=default", "model=logistic", "stability.n_boot=2"]
JOBLIB = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
# With the model comparison: three sweeps, nine processes (three sweeps and their two workers
# each) writing to one new store at once. More jobs per sweep would add run time, not writers.
N_SWEEPS, N_SWEEP_JOBS = 2, 2


@dataclass(frozen=True)
class TrackedSweeps:
    """Sweeps run at the same time into one MLflow store (``cwd / "mlflow.db"``).

    ``seeds``: the outcomes of :data:`N_SWEEPS` sweeps of :data:`N_SWEEP_JOBS` jobs each
    (``seed=1..N``, experiment ``ctdc-risk``, joblib launcher with 2 workers), sweep ``i`` in
    ``cwd / "sweeps" / str(i)``; ``comparison``: the outcome of
    ``experiment=model_comparison`` (2 models x 3 targets, experiment ``model_comparison``), in
    ``cwd / "comparison"``, and ``comparison_parent`` its parent run id.
    """

    cwd: Path
    seeds: list[subprocess.CompletedProcess[str]]
    comparison: subprocess.CompletedProcess[str]
    comparison_parent: str

    @property
    def store_uri(self) -> str:
        return f"sqlite:///{(self.cwd / 'mlflow.db').resolve()}"

    def client(self) -> Any:
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.store_uri)


def _start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    return subprocess.Popen(
        [EXE, *args], cwd=cwd, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def run_together(commands: list[list[str]], cwd: Path, timeout: float = 1200) -> list[Any]:
    """Start every ``ctdc-risk`` command at once from ``cwd``; wait for all; their outcomes."""
    procs = [_start(args, cwd) for args in commands]
    outs = []
    for args, proc in zip(commands, procs, strict=True):
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for other in procs:
                other.kill()
            raise
        outs.append(subprocess.CompletedProcess([EXE, *args], proc.returncode, stdout, stderr))
    return outs


@pytest.fixture(scope="session")
def tracked_sweeps(tmp_path_factory: pytest.TempPathFactory) -> TrackedSweeps:
    """Three sweeps started together on one new MLflow store (see :class:`TrackedSweeps`): the
    store's parallel safety, and the runs the sweep and compare tests read. Read only: a test
    that writes runs uses a store of its own (the UI test serves a sweep of its own, whose jobs
    run on enough rows to label factors)."""

    def build(cwd: Path) -> TrackedSweeps:
        seeds = "seed=" + ",".join(str(s) for s in range(1, N_SWEEP_JOBS + 1))
        commands = [
            ["-m", *SWEEP_JOB, seeds, *JOBLIB, f"hydra.sweep.dir=sweeps/{i}"]
            for i in range(N_SWEEPS)
        ]
        commands.append(
            ["-m", "experiment=model_comparison", "debug=default", "stability.n_boot=2",
             *JOBLIB, "hydra.sweep.dir=comparison"]
        )  # fmt: skip
        *outs, comparison = run_together(commands, cwd)
        parent = re.search(r"compare\.parent=([0-9a-f]{32})", comparison.stdout.replace("\n", ""))
        return TrackedSweeps(cwd, outs, comparison, parent.group(1) if parent else "")

    return build_once(tmp_path_factory, "tracked_sweeps", build)


def keep_screenshots(shots: list[Path]) -> None:
    """Copy screenshots to $CTDC_TEST_ARTIFACTS (CI keeps that folder) when it is set."""
    target = os.environ.get("CTDC_TEST_ARTIFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for shot in shots:
            if shot.is_file():
                shutil.copy2(shot, Path(target) / shot.name)
