"""The command line, run as a user runs it: real processes for each command and for a few
mistakes; the rest of the mistakes in this process (:func:`conftest.run_cli_in_process`), since
they only need the exit code and the message."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli_in_process

EXE = str(Path(sys.executable).with_name("ctdc-risk"))


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    return subprocess.run(
        [EXE, *args], cwd=cwd, capture_output=True, text=True, timeout=300, env=env
    )


def test_help_lists_commands_and_groups(tmp_path):
    out = _run("--help", cwd=tmp_path)
    assert out.returncode == 0
    for word in ("describe", "replicate", "cohort:", "children_0_8", "data: ctdc, synthetic"):
        assert word in out.stdout


def test_version_is_ours_and_commands_have_their_own_help(tmp_path):
    from ctdc_risk import __version__

    out = _run("--version", cwd=tmp_path)
    assert out.returncode == 0
    assert out.stdout.startswith(f"ctdc-risk {__version__}\n")
    assert "hydra-core" in out.stdout and "lightgbm" in out.stdout and "shap" in out.stdout
    assert "highspy 1." in out.stdout  # the privacy floor's solver: what is withheld
    for command in ("describe", "compare", "study"):
        out = _run(command, "--help", cwd=tmp_path)
        assert out.returncode == 0
        assert out.stdout.startswith(f"Usage: ctdc-risk {command}".replace("study", "[study]"))


def test_help_imports_no_heavy_library():
    code = (
        "import sys; sys.argv=['ctdc-risk','--help'];"
        "from ctdc_risk.cli.main import main; main();"
        "heavy=[m for m in ('pandas','sklearn','lightgbm','shap','mlflow','statsmodels',"
        "'pandera','pyarrow','highspy') if m in sys.modules]; print('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout


def test_describe_writes_headline_files(tmp_path):
    run_dir = tmp_path / "run"
    out = _run("describe", "data.n_rows=3000", f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    for name in ("headline.md", "headline.csv", "headline.json", "data_report.json"):
        assert (run_dir / name).is_file()
    assert not (run_dir / "INCOMPLETE").exists()  # removed once every file is written
    doc = json.loads((run_dir / "headline.json").read_text())
    assert doc["children"]["share"] > doc["adults"]["share"]
    assert str(run_dir) in out.stdout
    assert "[INFO]" not in out.stdout + out.stderr  # log lines: in the run's log file only
    verbose = _run("describe", "-v", "data.n_rows=3000", f"hydra.run.dir={run_dir}2", cwd=tmp_path)
    assert verbose.returncode == 0, verbose.stderr
    assert "[ctdc_risk.data.synthetic][INFO]" in verbose.stdout  # -v shows them


MISTAKES = [
    (["describe", "data=ctdc", "data.path=/no/such/file.csv"], "no such file"),
    (["describe", "data=ctdc"], "data.path is not set"),
    (["describe", "data=ctdc", "data.path=/dev/zero"], "not a regular file"),
    (["describe", "privacy.k=2"], "privacy.k must be"),
    (["describe", "data.n_rows=5"], "data.n_rows must be"),
    (["describ"], "unknown command 'describ'"),
    (
        ["describe", "data=ctdc", "data.path=f.csv", "data.columns={sex:gendr}"],
        "data.columns.sex: 'gendr' is not a CTDC column name; did you mean gender?",
    ),
    (["cohrt=boys"], "unknown config key 'cohrt' (in cohrt=boys): did you mean cohort?"),
    (["cohort=boy"], "cohort has no option 'boy'; did you mean cohort=boys? Options:"),
    (
        ["experiment=boys_vs_girls_family"],
        "Run every job with: ctdc-risk -m experiment=boys_vs_girls_family",
    ),
]


# A mistake found by the guard, one found by Hydra and one found after the heavy imports: in a
# real process too, so library warnings or a traceback printed at exit would show.
IN_A_REAL_PROCESS = {"describ", "cohrt=boys", "data.path=/no/such/file.csv"}


@pytest.mark.parametrize(
    ("how", "args", "message"),
    [("in_process", args, message) for args, message in MISTAKES]
    + [("subprocess", a, m) for a, m in MISTAKES if IN_A_REAL_PROCESS & set(a)],
)
def test_user_mistakes_end_in_one_clear_message(tmp_path, how, args, message):
    run_dir = tmp_path / "run"
    if how == "subprocess":
        out = _run(*args, f"hydra.run.dir={run_dir}", cwd=tmp_path)
    else:
        out = run_cli_in_process(*args, f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr  # one line, no search path
    assert "+cohrt" not in out.stderr
    assert not (run_dir / "headline.json").exists()


def test_malformed_file_error_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("yearOfRegistration,gender\n2015,Female\n2016\n")
    out = run_cli_in_process(
        "describe", "data=ctdc", f"data.path={bad}", f"hydra.run.dir={tmp_path / 'r'}", cwd=tmp_path
    )
    assert out.returncode == 2
    assert "bad.csv" in out.stderr and "line 3" in out.stderr
    assert "Traceback" not in out.stderr


def test_no_module_imports_heavy_libraries_at_import_time():
    code = (
        "import importlib, pkgutil, sys, ctdc_risk\n"
        "for m in pkgutil.walk_packages(ctdc_risk.__path__, 'ctdc_risk.'):\n"
        "    importlib.import_module(m.name)\n"
        "heavy = ('lightgbm', 'shap', 'mlflow', 'statsmodels', 'highspy')\n"
        "print('HEAVY', [m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout


def test_describe_describes_every_case_unless_a_cohort_is_chosen(tmp_path):
    # conf/command/describe.yaml: describe's own default, which the command line overrides.
    for args, cohort in (((), "all"), (("cohort=boys",), "boys")):
        out = _run("describe", *args, "--cfg", "job", cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        assert "command: describe" in out.stdout
        assert f"cohort:\n  name: {cohort}\n" in out.stdout
