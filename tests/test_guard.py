"""No config, override or experiment file can make Hydra call a function of its choosing, and
a password in a tracking URI stays out of saved configs and logs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ctdc_risk.cli.guard import check_command_line, check_config
from ctdc_risk.cli.secrets import hide_secrets
from ctdc_risk.errors import ConfigError

EXE = str(Path(sys.executable).with_name("ctdc-risk"))


@pytest.mark.parametrize(
    "target", ["os.system", "subprocess.Popen", "builtins.eval", "posix.system", "pickle.loads"]
)
def test_a_foreign_target_anywhere_is_refused_naming_the_key(target):
    with pytest.raises(ConfigError, match=r"'model\.x\.y\._target_'.*" + target.split(".")[1]):
        check_config({"model": {"x": {"y": {"_target_": target, "command": "id"}}}})
    with pytest.raises(ConfigError, match=r"'hydra\.callbacks\.pwn\._target_'"):
        check_config({"hydra": {"callbacks": {"pwn": {"_target_": target}}}})
    with pytest.raises(ConfigError, match=r"'steps\[1\]\._target_'"):
        check_config({"steps": [{}, {"_target_": target}]})


def test_hydra_plugins_and_the_sweep_callback_are_allowed():
    check_config(
        {
            "hydra": {
                "callbacks": {"sweep": {"_target_": "ctdc_risk.cli.sweep.SweepCallback"}},
                "launcher": {"_target_": "hydra_plugins.hydra_joblib_launcher."
                             "joblib_launcher.JoblibLauncher"},
                "sweeper": {"_target_": "hydra_plugins.ctdc_optuna_sweeper."
                            "optuna_sweeper.OptunaSweeper"},
                "job_logging": {"handlers": {"console": {"class": "logging.StreamHandler"}}},
            }
        }
    )  # fmt: skip


def test_logging_setup_cannot_build_a_foreign_class():
    with pytest.raises(ConfigError, match=r"job_logging\.handlers\.x\.class"):
        check_config({"hydra": {"job_logging": {"handlers": {"x": {"class": "os.system"}}}}})
    with pytest.raises(ConfigError, match=r"job_logging.formatters.f.\(\)"):
        check_config({"hydra": {"job_logging": {"formatters": {"f": {"()": "os.system"}}}}})


@pytest.fixture
def evil_configs(tmp_path):
    """An extra config folder whose experiment would run a shell command via a callback."""
    folder = tmp_path / "evil_configs"
    (folder / "experiment").mkdir(parents=True)
    marker = tmp_path / "PWNED"
    (folder / "experiment" / "evil.yaml").write_text(
        "# @package _global_\n"
        "hydra:\n  callbacks:\n    pwn:\n      _target_: os.system\n"
        f"      command: touch {marker}\n"
    )
    return folder, marker


def test_the_command_line_check_composes_sweeps_and_search_paths(evil_configs):
    folder, _ = evil_configs
    search = f"hydra.searchpath=[file://{folder}]"
    check_command_line(["-m", search, "experiment=model_comparison", "hydra/launcher=joblib"])
    with pytest.raises(ConfigError, match=r"os\.system.*from experiment=evil"):
        check_command_line([search, "experiment=family_recruitment_children,evil"])
    with pytest.raises(ConfigError, match="not supported"):
        check_command_line(["--config-dir", str(folder)])


@pytest.mark.parametrize("sweep", [False, True])
def test_the_cli_refuses_before_anything_runs(evil_configs, tmp_path, sweep):
    folder, marker = evil_configs
    args = [f"hydra.searchpath=[file://{folder}]", "experiment=evil"]
    if sweep:
        args = ["-m", *args[:1], "experiment=family_recruitment_children,evil"]
    out = subprocess.run(
        [EXE, *args, "debug=default"], cwd=tmp_path, capture_output=True, text=True,
        timeout=300, env={**os.environ, "HYDRA_FULL_ERROR": "0"},
    )  # fmt: skip
    assert out.returncode == 2
    assert "hydra.callbacks.pwn._target_" in out.stderr and "Traceback" not in out.stderr
    assert not marker.exists()
    assert not (tmp_path / "outputs").exists() and not (tmp_path / "multirun").exists()


def test_an_override_target_is_refused_through_the_cli(tmp_path):
    out = subprocess.run(
        [EXE, "+model.evil._target_=builtins.eval", "debug=default"], cwd=tmp_path,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 2
    assert "'model.evil._target_'" in out.stderr


def test_passwords_are_hidden_in_saved_configs_and_logs(tmp_path, caplog):
    import logging

    canary = "Canary-S3cret-7f3a"
    hydra_dir = tmp_path / ".hydra"
    hydra_dir.mkdir()
    (hydra_dir / "overrides.yaml").write_text(
        f"- tracking.tracking_uri=https://ana:{canary}@mlflow.example.org\n"
    )
    (hydra_dir / "config.yaml").write_text("seed: 42\n")
    hide_secrets(tmp_path)
    text = (hydra_dir / "overrides.yaml").read_text()
    assert canary not in text and "https://ana:***@mlflow.example.org" in text
    assert (hydra_dir / "config.yaml").read_text() == "seed: 42\n"
    handler = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        hide_secrets(None)
        with caplog.at_level(logging.INFO):
            logging.getLogger("hydra").info("#0 : tracking.tracking_uri=http://ana:%s@h", canary)
        assert handler.filters, "the redacting filter was not installed"
        record = caplog.records[-1]
        assert handler.filter(record)
        assert canary not in record.getMessage()
    finally:
        root.removeHandler(handler)
        handler.stream.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["model.lightgbm.max_dept=3"], "did you mean model.lightgbm.max_depth?"),
        (["privacy.kk=3"], "key 'privacy.kk' (in privacy.kk=3): did you mean privacy.k?"),
        (["hydra/launcher=jobib"], "did you mean hydra/launcher=joblib?"),
        (["-m", "cohort=boy,girls"], "cohort=boy: cohort has no option 'boy'; did you mean"),
        (["experiment=lightgbm_tuning"], "ctdc-risk -m experiment=lightgbm_tuning"),
        (["describe", "experiment=child_rule_sensitivity"], None),
    ],
)  # fmt: skip
def test_mistakes_name_the_key_and_the_nearest_valid_one(args, message):
    from ctdc_risk.cli.main import _split_command

    if message is None:  # a sweep experiment for another command: refused with its command
        with pytest.raises(
            ConfigError, match=r"ctdc-risk describe -m .*experiment=child_rule_sensitivity"
        ):
            check_command_line(_split_command(args))
        return
    with pytest.raises(ConfigError) as info:
        check_command_line(_split_command(args))
    assert message in str(info.value)
    assert "\n" not in str(info.value) and "+" not in str(info.value).split(":")[0]
