"""The package as a user installs it: a built wheel in a fresh environment, and a clone at a
long path (issue 14, section 5).

Both copy the project (tracked and untracked, not ignored files: what a clone of this working
tree holds) to a temporary folder, so nothing is built inside the repository. The fresh virtual
environments have no pip and reach the dependencies through a ``.pth`` file naming this
environment's site-packages, so no dependency is downloaded; ``ctdc_risk`` itself comes only
from what was installed into them (asserted). Building uses pip's isolated build environment,
as ``pip install .`` does (setuptools from the package index, as ``make`` needs anyway).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _copy_project(dest: Path) -> Path:
    """Copy the working tree's files that git does not ignore (symbolic links kept as links)."""
    if not (REPO / ".git").exists():
        pytest.skip("the project is not a git checkout; cannot tell its files from build output")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        src = REPO / name
        if not os.path.lexists(src):
            continue  # deleted in the working tree, not yet in git
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target, follow_symlinks=False)
    return dest


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return {**env, "HYDRA_FULL_ERROR": "0", "COLUMNS": "80"}


def _run(args: list[str | Path], *, cwd: Path, timeout: int = 300) -> str:
    out = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
        env=_env(),
    )  # fmt: skip
    assert out.returncode == 0, f"{args}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out.stdout + out.stderr


def _fresh_venv(where: Path) -> Path:
    """A new virtual environment without pip whose dependencies are this environment's."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", where], check=True)
    python = where / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    # Every site-packages this interpreter sees (its own, and those it reaches the same way
    # when it is itself such an environment). Directories named in a .pth file go on sys.path
    # without their own .pth files being read, so an editable install of ctdc_risk stays out.
    deps = dict.fromkeys(
        p
        for p in sys.path
        if Path(p).name in ("site-packages", "dist-packages") and Path(p).is_dir()
    )
    Path(site, "ctdc_risk_test_dependencies.pth").write_text("\n".join(deps) + "\n")
    return python


def _pip_into(python: Path, *args: str | Path, cwd: Path) -> str:
    return _run([sys.executable, "-m", "pip", "--python", python, *args], cwd=cwd)


def test_the_wheel_installs_and_runs_from_a_fresh_environment(tmp_path: Path) -> None:
    """Build the wheel, install it (not editable), and run --help, describe and a study."""
    project = _copy_project(tmp_path / "project")
    wheels = tmp_path / "wheels"
    build_log = _run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", wheels, project],
        cwd=tmp_path,
    )
    # Quiet: no setuptools warning per config folder (once about 600 lines).
    for noise in ("absent from the `packages` configuration", "SetuptoolsDeprecationWarning"):
        assert noise not in build_log
    (wheel,) = wheels.glob("ctdc_risk-*.whl")

    with zipfile.ZipFile(wheel) as archive:
        infos = {i.filename: i for i in archive.infolist()}
        # Every package under src/ ships (targeting was once left out of a hand-written list).
        packages = {
            p.parent.relative_to(project / "src").as_posix()
            for p in (project / "src" / "ctdc_risk").rglob("__init__.py")
        }
        assert packages and all(f"{p}/__init__.py" in infos for p in packages)
        assert "ctdc_risk/targeting/table.py" in infos
        # The experiment files arrive as regular files with their content, not as links.
        for experiment in sorted((project / "experiments").glob("*.yaml")):
            info = infos[f"ctdc_risk/conf/experiment/{experiment.name}"]
            assert not stat.S_ISLNK(info.external_attr >> 16)
            assert archive.read(info) == experiment.read_bytes()
        assert "ctdc_risk/conf/config.yaml" in infos and "ctdc_risk/py.typed" in infos

    python = _fresh_venv(tmp_path / "fresh")
    _pip_into(python, "install", "--no-deps", "--no-index", "-q", wheel, cwd=tmp_path)
    work = tmp_path / "elsewhere"  # outside the repository and the copy
    work.mkdir()
    where = _run([python, "-c", "import ctdc_risk.targeting as m; print(m.__file__)"], cwd=work)
    assert Path(where.strip()).is_relative_to(tmp_path / "fresh")

    exe = tmp_path / "fresh" / "bin" / "ctdc-risk"
    assert "describe" in _run([exe, "--help"], cwd=work)
    _run([exe, "describe", "data.n_rows=2000", "hydra.run.dir=described"], cwd=work)
    assert (work / "described" / "headline.md").is_file()
    study = _run(
        [exe, "debug=default", "model=logistic", "stability.n_boot=2", "tracking=none",
         "hydra.run.dir=studied"],
        cwd=work,
    )  # fmt: skip
    for name in ("factors.csv", "targeting.csv", "report.html"):
        assert (work / "studied" / name).is_file()
    assert f"Report: {work / 'studied' / 'report.html'}" in study.splitlines()


# Tests that check printed paths and commands (the run folder, the environment's mlflow and
# ctdc-risk): run from the clone, whose environment sits at a long path (its scripts need the
# long-shebang form), they prove no test depends on the clone's path. The whole suite there
# would double CI time for little more: the rest prints no path of the clone.
_PATH_SENSITIVE = (
    "tests/test_console.py",
    "tests/test_cli.py::test_describe_writes_headline_files",
    "tests/test_tracking.py::test_a_study_is_one_finished_run_with_params_metrics_tags_and_artifacts",
)


def test_path_sensitive_tests_pass_from_a_clone_at_a_long_path(tmp_path: Path) -> None:
    """A copy of the project at a path of about 250 characters, with its own environment."""
    deep = tmp_path.joinpath(*["a-deliberately-long-folder-name-for-issue-14"] * 4)
    clone = _copy_project(deep / "ctdc-risk")
    assert len(str(clone)) > 200
    # A git index, so the clone can tell its own files from build output as a checkout does.
    for git in (["init", "-q"], ["add", "-A"]):
        subprocess.run(["git", *git], cwd=clone, check=True, capture_output=True)
    python = _fresh_venv(clone / ".venv")
    _pip_into(python, "install", "--no-deps", "-q", "-e", clone, cwd=clone)
    out = _run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-header", *_PATH_SENSITIVE],
        cwd=clone, timeout=900,
    )  # fmt: skip
    summary = out.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, out[-3000:]
