"""Issue 14: each route by which a config, an override or an option could run code, load a
pickle, set the environment of jobs or write outside the run folder, tried through the real
CLI with a harmless marker file. The guard refuses each before anything runs (exit 2, one line
naming the key or option), so every test here takes a second or two."""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ctdc_risk.cli.guard import check_command_line
from ctdc_risk.cli.guard_rules import ALLOW_SETUP_ENV, RunFolder, check_config
from ctdc_risk.errors import ConfigError

EXE = str(Path(sys.executable).with_name("ctdc-risk"))
# Should the guard let a payload through, the study it starts stays small.
SMALL = ["debug=default", "tracking=none", "stability.n_boot=2"]


class _Touch:
    """Unpickling this creates (opens for writing) the marker file."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.path, "w"))


def _pickle_payload(tmp_path: Path, marker: Path) -> Path:
    payload = tmp_path / "payload.pkl"
    payload.write_bytes(pickle.dumps(_Touch(marker)))
    return payload


def _cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run ctdc-risk; assert it refused before running anything; return its one-line error."""
    out = subprocess.run(
        [EXE, *args, *SMALL, f"hydra.run.dir={tmp_path / 'run'}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HYDRA_FULL_ERROR": "0", **(env or {})},
    )
    assert out.returncode == 2, out.stderr + out.stdout
    assert "Traceback" not in out.stderr + out.stdout
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ctdc-risk: error: "), out.stderr
    assert not (tmp_path / "run").exists() and not (tmp_path / "multirun").exists()
    return lines[0]


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "PWNED"


@pytest.fixture
def evil_folder(tmp_path: Path, marker: Path) -> Path:
    """An extra config folder whose experiment unpickles a payload through a callback
    (np.load is not on Hydra's own blocklist; os.system is)."""
    folder = tmp_path / "evil_configs"
    (folder / "experiment").mkdir(parents=True)
    (folder / "experiment" / "evil.yaml").write_text(
        "# @package _global_\n"
        "hydra:\n  callbacks:\n    pwn:\n"
        "      _target_: optuna.samplers._tpe.sampler.np.load\n"
        f"      file: {_pickle_payload(tmp_path, marker)}\n"
        "      allow_pickle: true\n"
    )
    return folder


# --- _target_ is checked on the object it resolves to, not on a prefix of its spelling -------


@pytest.mark.parametrize("route", ["np.load", "os.system"])
def test_a_target_under_an_allowed_module_reaching_another_object_is_refused(
    tmp_path, marker, route
):
    if route == "np.load":
        args = [
            "+hydra.callbacks.pwn._target_=optuna.samplers._tpe.sampler.np.load",
            f"+hydra.callbacks.pwn.file={_pickle_payload(tmp_path, marker)}",
            "+hydra.callbacks.pwn.allow_pickle=true",
        ]
    else:
        args = [
            "+hydra.callbacks.pwn._target_=hydra._internal.utils.os.system",
            f"+hydra.callbacks.pwn.command='touch {marker}'",
        ]
    line = _cli(tmp_path, *args)
    assert "'hydra.callbacks.pwn._target_'" in line
    assert not marker.exists()


def test_a_target_that_cannot_be_imported_is_refused():
    with pytest.raises(ConfigError, match=r"'hydra\.callbacks\.x\._target_'.*cannot be imported"):
        check_command_line(
            ["+hydra.callbacks.x._target_=hydra._internal.core_plugins.nope.Launcher"]
        )


# --- options argparse would expand, and configs the guard cannot compose ---------------------


@pytest.mark.parametrize(
    "option",
    [["--config-d", "{dir}"], ["--config-di={dir}"], ["--config-dir", "{dir}"], ["-cd={dir}"]],
)
def test_an_abbreviated_config_option_is_refused(tmp_path, marker, evil_folder, option):
    args = [a.format(dir=evil_folder) for a in option]
    line = _cli(tmp_path, *args, "experiment=evil")
    assert "(--config-dir) is not supported" in line and args[0].split("=")[0] in line
    assert not marker.exists()


def test_a_config_the_guard_cannot_compose_is_refused_with_one_line(tmp_path):
    line = _cli(tmp_path, "cohort=nope")
    assert "cohort" in line and "nope" in line and "girls" in line


def test_an_ambiguous_option_is_refused(tmp_path):
    assert "ambiguous option: --config" in _cli(tmp_path, "--config", "x")


# --- hydra.job.env_set / env_copy ----------------------------------------------------------


@pytest.mark.parametrize("name", ["PYTHONPATH", "LD_PRELOAD", "env_copy"])
def test_a_config_cannot_set_the_environment_of_jobs(tmp_path, marker, name):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(f"open({str(marker)!r}, 'w')\n")
    env = {}
    if name == "env_copy":
        # Hydra copies the variable into env_set when it composes the config.
        arg, env = "hydra.job.env_copy=[CTDC_TEST_VAR]", {"CTDC_TEST_VAR": str(site)}
    else:
        arg = f"+hydra.job.env_set.{name}={site if name == 'PYTHONPATH' else site / 'x.so'}"
    line = _cli(tmp_path, "-m", arg, "hydra/launcher=joblib", env=env)
    assert "'hydra.job.env_" in line and "may" in line
    assert not marker.exists()


def test_thread_counts_may_be_set(monkeypatch):
    monkeypatch.setenv("MKL_NUM_THREADS", "1")
    check_command_line(
        ["+hydra.job.env_set.OMP_NUM_THREADS=2", "hydra.job.env_copy=[MKL_NUM_THREADS]"]
    )
    with pytest.raises(ConfigError, match="OMP_NUM_THREADS"):
        check_command_line(["+hydra.job.env_set.OMP_NUM_THREADS='2; touch x'"])


# --- --experimental-rerun unpickles a file -------------------------------------------------


@pytest.mark.parametrize("option", ["--experimental-rerun", "--exp", "--experimental-rerun="])
def test_experimental_rerun_is_refused(tmp_path, marker, option):
    payload = str(_pickle_payload(tmp_path, marker))
    args = [option + payload] if option.endswith("=") else [option, payload]
    line = _cli(tmp_path, *args)
    assert "(--experimental-rerun) is not supported" in line
    assert not marker.exists()


# --- the logging setup: a short list of classes, log files inside the run folder ------------


def test_a_log_file_outside_the_run_folder_is_refused(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    line = _cli(
        tmp_path,
        f"hydra.job_logging.handlers.file.filename={victim}",
        "+hydra.job_logging.handlers.file.mode=w",
    )
    assert "'hydra.job_logging.handlers.file.filename'" in line and "inside the run folder" in line
    assert victim.read_text() == "keep me\n"


def test_a_socket_handler_is_refused_and_nothing_connects(tmp_path):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        line = _cli(
            tmp_path,
            "+hydra.hydra_logging.handlers.net.class=logging.handlers.SocketHandler",
            "+hydra.hydra_logging.handlers.net.host=127.0.0.1",
            f"+hydra.hydra_logging.handlers.net.port={port}",
            "hydra.hydra_logging.root.handlers=[console,net]",
        )
        server.setblocking(False)
        with pytest.raises(BlockingIOError):
            server.accept()
    assert "'hydra.hydra_logging.handlers.net.class'" in line


@pytest.mark.parametrize(
    ("args", "key"),
    [
        (["hydra.job_logging.handlers.console.stream=ext://os.sys.stdout"], "console.stream"),
        (["+hydra.job_logging.formatters.simple.defaults=ext://os.environ"], "simple.defaults"),
        (["+hydra.job_logging.filters.f.name=x", "+hydra.job_logging.filters.f.x=1"], "f.x"),
        (["+hydra.job_logging.handlers.file.foo=1"], "file.foo"),
    ],
)
def test_logging_settings_outside_the_short_list_are_refused(args, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        check_command_line(args)


def test_a_log_file_inside_the_run_folder_is_allowed(tmp_path):
    folder = RunFolder(root=tmp_path / "run", output_dir=tmp_path / "run", cwd=tmp_path)
    handler = {"class": "logging.FileHandler", "mode": "w", "filename": str(tmp_path / "run/x.log")}
    check_config({"hydra": {"job_logging": {"handlers": {"f": handler}}}}, folder=folder)
    with pytest.raises(ConfigError, match="inside the run folder"):
        check_config({"hydra": {"job_logging": {"handlers": {"f": handler}}}})
    handler["filename"] = "run/../x.log"
    with pytest.raises(ConfigError, match="inside the run folder"):
        check_config({"hydra": {"job_logging": {"handlers": {"f": handler}}}}, folder=folder)


# --- the SLURM launcher's shell lines ------------------------------------------------------


@pytest.mark.parametrize(
    ("arg", "key"),
    [
        ("hydra.launcher.setup=['touch {m}']", "'hydra.launcher.setup'"),
        ("+hydra.launcher.additional_parameters.wrap='touch {m}'", "additional_parameters"),
        ("hydra.launcher.partition='x\ntouch {m}'", "line break"),
        ("hydra.launcher.submitit_folder={m}", "inside the sweep folder"),
    ],
)
def test_slurm_job_scripts_get_no_shell_lines(tmp_path, marker, arg, key):
    line = _cli(tmp_path, "-m", "hydra/launcher=slurm", arg.format(m=marker))
    assert key in line
    assert not marker.exists()


def test_launcher_setup_is_allowed_when_the_user_opts_in(monkeypatch):
    args = ["-m", "hydra/launcher=slurm", "hydra.launcher.setup=['module load python']"]
    with pytest.raises(ConfigError, match=ALLOW_SETUP_ENV):
        check_command_line(args)
    monkeypatch.setenv(ALLOW_SETUP_ENV, "1")
    check_command_line(args)
    with pytest.raises(ConfigError, match="line break"):
        check_command_line([*args[:2], "hydra.launcher.setup=['a\nb']"])


# --- Hydra's own files stay in the run folder ----------------------------------------------


@pytest.mark.parametrize("value", ["../..", "../escape", "/tmp/escape"])
def test_hydra_output_subdir_outside_the_run_folder_is_refused(tmp_path, value):
    line = _cli(tmp_path, f"hydra.output_subdir={value}")
    assert "'hydra.output_subdir'" in line
    assert not (tmp_path / "escape").exists()


def test_a_sweep_job_folder_outside_the_sweep_folder_is_refused(tmp_path):
    line = _cli(tmp_path, "-m", "hydra.sweep.subdir=../job", f"hydra.sweep.dir={tmp_path / 's'}")
    assert "'hydra.sweep.subdir'" in line


def test_every_combination_of_a_sweep_is_checked(tmp_path):
    # Each value alone is harmless ('.None', 'None.'); two together write to '..'.
    line = _cli(
        tmp_path,
        "-m",
        "compare.experiment=.,x",
        "compare.parent=.,y",
        "hydra.output_subdir=${compare.experiment}${compare.parent}",
    )
    assert (
        "'hydra.output_subdir' is '..'" in line and "compare.experiment=. compare.parent=." in line
    )


# --- further routes of the same classes ----------------------------------------------------


def test_a_glob_sweep_is_expanded_and_checked(tmp_path, marker, evil_folder):
    line = _cli(tmp_path, "-m", f"hydra.searchpath=[file://{evil_folder}]", "experiment=glob(ev*)")
    assert "hydra.callbacks.pwn._target_" in line and "experiment=evil" in line
    assert not marker.exists()


def test_a_pkg_search_path_is_refused_before_its_module_is_imported(tmp_path, marker):
    (tmp_path / "ctdc_evil_module.py").write_text(f"open({str(marker)!r}, 'w')\n")
    line = _cli(
        tmp_path, "hydra.searchpath=[pkg://ctdc_evil_module]", env={"PYTHONPATH": str(tmp_path)}
    )
    assert "'hydra.searchpath[0]'" in line
    assert not marker.exists()


@pytest.mark.parametrize(
    ("arg", "key"),
    [
        (
            "hydra.sweeper.custom_search_space=hydra._internal.utils.os.system",
            "custom_search_space",
        ),
        ("hydra.sweeper.storage=redis://127.0.0.1:9", "'hydra.sweeper.storage'"),
        ("hydra.sweeper.storage=sqlite:///{tmp}/PWNED", "'hydra.sweeper.storage'"),
    ],
)
def test_optuna_settings_that_call_or_load_are_refused(tmp_path, marker, arg, key):
    line = _cli(tmp_path, "-m", "hydra/sweeper=optuna_lightgbm", arg.format(tmp=tmp_path))
    assert key in line
    assert not marker.exists()


# --- what the project ships passes ---------------------------------------------------------

EXPERIMENTS = sorted(p.stem for p in (Path(__file__).parents[1] / "conf/experiment").glob("*.yaml"))


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--cfg", "job"],
        ["-m", "hydra/launcher=joblib"],
        ["-m", "hydra/launcher=slurm_local"],
        ["-m", "hydra/launcher=slurm", "hydra.launcher.partition=gpu"],
        ["-m", "hydra/sweeper=optuna_lightgbm", "model=lightgbm"],
        ["-m", "cohort=boys,girls", "model=logistic,lightgbm", "seed=range(1,200)"],
        ["-m", "experiment=glob(*)"],
        ["hydra/job_logging=stdout", "hydra/hydra_logging=disabled", "hydra.job.chdir=true"],
        ["hydra.run.dir=/tmp/somewhere", "hydra.output_subdir=meta"],
    ],
)
def test_the_shipped_presets_pass_the_guard(args):
    check_command_line(args)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_named_study_passes_the_guard(name):
    check_command_line(["-m", f"experiment={name}"])
