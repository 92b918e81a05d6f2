"""Optuna tuning through ctdc-risk's own Hydra sweeper (hydra_plugins.ctdc_optuna_sweeper):
the search space read from Hydra's override grammar, the ask-and-tell loop around a launcher,
and the tuning preset through the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn, JobStatus
from hydra.errors import CompactHydraException
from omegaconf import OmegaConf
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from hydra_plugins.ctdc_optuna_sweeper._impl import (
    RESULTS_FILE,
    OptunaSweeperImpl,
    SweeperSettingError,
    make_sampler,
    trial_value,
)
from hydra_plugins.ctdc_optuna_sweeper._space import (
    SearchSpaceError,
    format_value,
    parse_search_space,
)

EXE = str(Path(sys.executable).with_name("ctdc-risk"))
JOBLIB = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
PRESET = Path(__file__).parents[1] / "conf" / "hydra" / "sweeper" / "optuna_lightgbm.yaml"


def test_tuning_runs_on_a_current_optuna():
    assert int(optuna.__version__.split(".")[0]) >= 4


# --- the search space -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("range(2, 6)", IntDistribution(2, 5)),  # Hydra's range: the stop is excluded
        ("range(100, 500, step=100)", IntDistribution(100, 400, step=100)),
        ("range(10, 2, -4)", IntDistribution(6, 10, step=4)),
        ("shuffle(range(1, 4))", IntDistribution(1, 3)),
        ("tag(log, range(1, 100))", IntDistribution(1, 99, log=True)),
        ("range(0.1, 0.5, 0.1)", FloatDistribution(0.1, 0.4, step=0.1)),
        ("interval(0, 1)", FloatDistribution(0.0, 1.0)),
        ("tag(log, interval(0.01, 0.3))", FloatDistribution(0.01, 0.3, log=True)),
        ("int(interval(1, 10))", IntDistribution(1, 10)),
        ("tag(log, int(interval(1, 64)))", IntDistribution(1, 64, log=True)),
        ("a,b", CategoricalDistribution(["a", "b"])),
        ("choice(1, 2.5, false)", CategoricalDistribution([1, 2.5, False])),
        ("gbdt,'dart boost'", CategoricalDistribution(["gbdt", "'dart boost'"])),
        ("'a,b',c", CategoricalDistribution(["'a,b'", "c"])),
        ("choice('a,b', c)", CategoricalDistribution(["a\\,b", "c"])),
    ],
)
def test_each_sweep_of_the_grammar_becomes_its_distribution(text, expected):
    assert parse_search_space({"x": text}).distributions == {"x": expected}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tag(log, range(1, 100, 2))", "whole steps of 1"),
        ("tag(log, range(0.1, 1.0, 0.1))", "use interval"),
        ("tag(log, interval(0, 1))", "low > 0"),
        ("tag(log, choice(a, b))", "a choice has no scale"),
        ("tag(lg, interval(0.1, 1))", r"the tag\(s\) lg"),
        ("range(5, 5)", "is empty"),
        ("glob(*)", "list the options of a glob"),
        ("1, 1.0", "one value twice"),
    ],
)
def test_a_space_the_sweeper_cannot_sample_is_refused_naming_the_parameter(text, message):
    with pytest.raises(SearchSpaceError, match=message) as caught:
        parse_search_space({"model.lightgbm.x": text})
    assert "'model.lightgbm.x'" in str(caught.value)
    assert isinstance(caught.value, CompactHydraException)  # Hydra prints one line, no traceback


def test_fixed_overrides_reach_every_trial_exactly_as_written():
    lines = ["seed=1", "+extra=2", "~tracking", "report.title=${cohort.name}", "x='a b'"]
    space = parse_search_space({}, lines)
    assert space.distributions == {}
    assert space.fixed == lines
    assert space.overrides({}) == lines


def test_the_command_line_overrides_the_params_of_the_config_in_place():
    space = parse_search_space(
        {"a": "range(1, 5)", "b": "interval(0, 1)", "c": "x,y"}, ["a=3", "c=z,w", "d=1"]
    )
    assert [key for key, _ in space.entries] == ["a", "b", "c", "d"]
    assert space.fixed == ["a=3", "d=1"]
    assert space.distributions["c"] == CategoricalDistribution(["z", "w"])
    assert space.overrides({"b": 0.5, "c": "w"}) == ["a=3", "b=0.5", "c=w", "d=1"]


@pytest.mark.parametrize(
    "value", [3, -7, 0.1, 1e-05, 0.30000000000000004, 2.0, True, False, None, "dart"]
)
def test_a_sampled_value_reads_back_as_itself(value):
    (override,) = OverridesParser.create().parse_overrides([f"x={format_value(value)}"])
    parsed = override.value()
    assert parsed == value and type(parsed) is type(value)


def test_the_shipped_preset_keeps_its_search_space():
    """The preset's ranges name the values hydra-optuna-sweeper sampled from them (it read
    range stops as included); Hydra's grammar excludes them, so the stops moved one step."""
    params = yaml.safe_load(PRESET.read_text())["params"]
    space = parse_search_space(params).distributions
    key = "model.lightgbm."
    assert space[key + "n_estimators"] == IntDistribution(100, 500, step=100)
    assert space[key + "max_depth"] == IntDistribution(2, 6)
    assert space[key + "num_leaves"] == IntDistribution(4, 32, step=4)
    assert space[key + "min_child_samples"] == IntDistribution(20, 100, step=20)
    assert space[key + "learning_rate"] == FloatDistribution(0.01, 0.3, log=True)
    assert space[key + "reg_lambda"] == FloatDistribution(0.1, 10.0, log=True)


# --- the sweep loop, with a launcher that computes each trial's value at once -----------------


class _Launcher:
    """Stands in for Hydra's launcher: the value of ``x=...`` is -(x - 3)², or a failure."""

    def __init__(self, fail_when: str | None = None) -> None:
        self.batches: list[list[list[str]]] = []
        self.fail_when = fail_when

    def launch(self, overrides: list[list[str]], initial_job_idx: int) -> list[JobReturn]:
        assert initial_job_idx == sum(len(b) for b in self.batches)
        self.batches.append([list(o) for o in overrides])
        return [self._run(list(o)) for o in overrides]

    def _run(self, overrides: list[str]) -> JobReturn:
        if self.fail_when == "raise":
            return JobReturn(overrides, status=JobStatus.FAILED, _return_value=RuntimeError("x"))
        if self.fail_when == "none":
            return JobReturn(overrides, status=JobStatus.COMPLETED, _return_value=None)
        x = float(dict(o.split("=", 1) for o in overrides)["x"])
        return JobReturn(overrides, status=JobStatus.COMPLETED, _return_value=-((x - 3) ** 2))


def _sweeper(tmp_path, launcher, **settings):
    args = {
        "direction": "maximize",
        "study_name": "t",
        "n_trials": 6,
        "n_jobs": 4,
        "max_failure_rate": 0.0,
        "sampler": {"name": "tpe", "seed": 7, "n_startup_trials": 2},
        "params": {"x": "int(interval(0, 9))"},
        **settings,
    }
    sweeper = OptunaSweeperImpl(**args)
    sweeper.config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})
    sweeper.launcher = launcher
    return sweeper


def test_trials_run_in_batches_and_the_best_is_written(tmp_path):
    launcher = _Launcher()
    _sweeper(tmp_path, launcher).sweep(["seed=5"])
    assert [len(b) for b in launcher.batches] == [4, 2]  # n_jobs at a time, up to n_trials
    trials = [o for batch in launcher.batches for o in batch]
    assert all(o[0].startswith("x=") and o[1:] == ["seed=5"] for o in trials)
    values = [-((int(o[0][2:]) - 3) ** 2) for o in trials]
    results = OmegaConf.to_container(OmegaConf.load(tmp_path / RESULTS_FILE))
    assert results["best_value"] == max(values)
    assert f"x={results['best_params']['x']}" in [o[0] for o in trials]
    assert (results["n_trials"], results["n_failed"]) == (6, 0)


def test_the_same_seed_gives_the_same_trials(tmp_path):
    first, second, other = _Launcher(), _Launcher(), _Launcher()
    _sweeper(tmp_path / "a", first).sweep([])
    _sweeper(tmp_path / "b", second).sweep([])
    _sweeper(tmp_path / "c", other, sampler={"seed": 8, "n_startup_trials": 2}).sweep([])
    assert first.batches == second.batches
    assert first.batches != other.batches


@pytest.mark.parametrize("how", ["none", "raise"])
def test_failed_trials_are_told_as_failed_and_the_search_goes_on(tmp_path, how):
    launcher = _Launcher(fail_when=how)
    _sweeper(tmp_path, launcher, max_failure_rate=1.0).sweep([])
    assert sum(len(b) for b in launcher.batches) == 6
    assert not (tmp_path / RESULTS_FILE).exists()  # no trial completed: no best to write


def test_more_failures_than_allowed_stop_the_sweep_naming_them(tmp_path):
    launcher = _Launcher(fail_when="none")
    with pytest.raises(RuntimeError, match=r"4 of 4 trials.*max_failure_rate=0.0.*returned no"):
        _sweeper(tmp_path, launcher).sweep([])
    assert len(launcher.batches) == 1


def test_a_job_value_is_a_number_or_a_failure():
    done = JobStatus.COMPLETED
    assert trial_value(JobReturn(status=done, _return_value=0.7)) == (0.7, "")
    assert trial_value(JobReturn(status=done, _return_value=float("nan")))[0] is None
    assert trial_value(JobReturn(status=done, _return_value="high"))[0] is None
    failed = JobReturn(status=JobStatus.FAILED, _return_value=ValueError("no cases"))
    assert "no cases" in trial_value(failed)[1]


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"direction": "up"}, "direction"),
        ({"n_trials": 0}, "n_trials"),
        ({"n_jobs": 0}, "n_jobs"),
        ({"max_failure_rate": 1.5}, "max_failure_rate"),
    ],
)
def test_a_setting_out_of_range_is_named(tmp_path, settings, key):
    with pytest.raises(SweeperSettingError, match=f"hydra.sweeper.{key}"):
        _sweeper(tmp_path, _Launcher(), **settings)


def test_the_sampler_is_built_from_plain_settings():
    assert isinstance(make_sampler({"name": "random", "seed": 1}), optuna.samplers.RandomSampler)
    assert isinstance(make_sampler({"seed": 1}), optuna.samplers.TPESampler)
    with pytest.raises(SweeperSettingError, match=r"sampler\.name"):
        make_sampler({"name": "cmaes"})


# --- the plugin in Hydra, and the preset through the real CLI ---------------------------------


def test_hydra_finds_the_sweeper_without_importing_optuna():
    code = (
        "import sys\n"
        "from hydra.core.plugins import Plugins\n"
        "from hydra.plugins.sweeper import Sweeper\n"
        "names = [c.__module__ + '.' + c.__name__ for c in Plugins.instance().discover(Sweeper)]\n"
        "print(names, 'optuna' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert "hydra_plugins.ctdc_optuna_sweeper.optuna_sweeper.OptunaSweeper" in out.stdout
    assert out.stdout.strip().endswith("False"), out.stdout


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *args], cwd=cwd, capture_output=True, text=True, timeout=900,
        env={**os.environ, "HYDRA_FULL_ERROR": "0"},
    )  # fmt: skip


def _runs(cwd: Path, experiment: str):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{cwd / 'mlflow.db'}")
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment}"
    runs = client.search_runs([found.experiment_id], max_results=10_000)
    parents = [r for r in runs if r.data.tags.get("sweep") == "parent"]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return client, parents, children


@pytest.mark.slow
def test_optuna_preset_tunes_lightgbm_on_the_primary_metric(tmp_path):
    out = _cli(
        "-m", "experiment=lightgbm_tuning", "debug=default", "stability.n_boot=2",
        "hydra.sweeper.n_trials=4", *JOBLIB, "hydra.sweep.dir=tune", cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    results = yaml.safe_load((tmp_path / "tune" / "optimization_results.yaml").read_text())
    client, parents, children = _runs(tmp_path, "lightgbm_tuning")
    assert len(parents) == 1 and len(children) == 4
    aucs = [c.data.metrics["cv/roc_auc_mean"] for c in children]
    assert results["best_value"] == pytest.approx(max(aucs), abs=1e-6)
    rates = {c.data.params["model.lightgbm.learning_rate"] for c in children}
    assert len(rates) == 4  # every trial tried its own settings
    assert {c.data.params["model.use"] for c in children} == {'["lightgbm"]'}
    assert 2 <= results["best_params"]["model.lightgbm.max_depth"] <= 6
    names = {a.path for a in client.list_artifacts(parents[0].info.run_id)}
    assert "optimization_results.yaml" in names


@pytest.mark.slow
def test_failed_optuna_trials_are_named_and_the_search_goes_on(tmp_path):
    # privacy.k=100000 makes every trial fail: each is told to Optuna as failed and the search
    # runs every trial; then the sweep is summarised and the failed trials named.
    out = _cli(
        "-m", "experiment=lightgbm_tuning", "debug=default", "stability.n_boot=2",
        "privacy.k=100000", "hydra.sweeper.n_trials=2", "hydra.sweep.dir=tune", cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert "2 of 2 sweep jobs failed" in out.stderr
    assert "job 0 (" in out.stderr and "job 1 (" in out.stderr
    summary = (tmp_path / "tune" / "sweep_summary.md").read_text()
    assert summary.count("| failed |") == 2
    _, parents, children = _runs(tmp_path, "lightgbm_tuning")
    assert [p.info.status for p in parents] == ["FAILED"]
    assert [c.info.status for c in children] == ["FAILED", "FAILED"]
