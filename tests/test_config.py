"""Every config option composes with Hydra and builds a valid spec."""

from importlib.resources import files

import pytest

from ctdc_risk.cli.compose import compose_config, compose_describe, compose_spec
from ctdc_risk.errors import ConfigError
from ctdc_risk.pipeline.specs import (
    DescribeSpec,
    RunSpec,
    describe_spec_from_mapping,
    run_spec_from_mapping,
)


def _options(group: str) -> list[str]:
    root = files("ctdc_risk.conf") / group
    return sorted(f.name.removesuffix(".yaml") for f in root.iterdir() if f.name.endswith(".yaml"))


def _spec(overrides: list[str]):
    return compose_spec(overrides)


@pytest.mark.parametrize("option", _options("cohort"))
def test_every_cohort_composes(option):
    spec = _spec([f"cohort={option}"])
    assert spec.cohort.name == option


@pytest.mark.parametrize(
    ("group", "option"),
    [
        (group, option)
        for group in ("target", "features", "model", "cv", "explain", "stability", "privacy")
        for option in _options(group)
    ],
)
def test_every_option_of_every_group_composes(group, option):
    spec = _spec([f"{group}={option}"])
    if group == "target":
        assert spec.target.name == option
    if group == "model":
        expected = ("logistic", "lightgbm") if option == "both" else (option,)
        assert tuple(m.name for m in spec.models) == expected
    if group == "cv":
        assert spec.cv.kind == option


def _experiments() -> list[str]:
    root = files("ctdc_risk.conf") / "experiment"
    return sorted(f.name.removesuffix(".yaml") for f in root.iterdir() if f.name.endswith(".yaml"))


@pytest.mark.parametrize("name", _experiments())
def test_every_experiment_composes_and_states_its_question(name):
    text = (files("ctdc_risk.conf") / "experiment" / f"{name}.yaml").read_text()
    assert text.startswith("# @package _global_")
    assert "# Question:" in text and "ctdc-risk" in text
    assert _spec([f"experiment={name}"]).command in ("study", "describe", "replicate")


@pytest.mark.parametrize("option", _options("debug"))
def test_every_debug_overlay_composes(option):
    assert _spec([f"debug={option}"]).data.n_rows == 2000


def test_file_data_needs_a_path():
    with pytest.raises(ConfigError, match=r"data.path is not set"):
        _spec(["data=ctdc"])
    spec = _spec(["data=ctdc", "data.path=x.csv"])
    assert spec.data.source == "file" and spec.data.path == "x.csv"


def test_defaults():
    spec = _spec([])
    assert spec.command == "study"
    assert spec.cohort.name == "children"
    assert spec.target.name == "family_recruitment"
    assert spec.stability.n_boot >= 100
    assert spec.privacy.k == 10
    assert spec.data.source == "synthetic"


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        ({"command": "describe", "sed": 1}, "unknown top-level config key 'sed'"),
        ({"command": "describe", "cv": {"kind": "random"}}, "cv.kind"),
        ({"command": "train"}, "command: 'train'"),
        ({"command": "study"}, "target is not set"),
        (
            {"command": "describe", "model": {"use": ["forest"]}},
            "model.use: 'forest' is not one of logistic, lightgbm",
        ),
        (
            {"command": "describe", "model": {"use": ["logistic"], "logistic": {"C": -1}}},
            "model.logistic.C",
        ),
        (
            {"command": "describe", "model": {"use": ["lightgbm"], "lightgbm": {"depth": 2}}},
            "unknown setting 'depth'",
        ),
        ({"command": "describe", "explain": {"subgroups": ["pets"]}}, "explain.subgroups"),
        ({"command": "describe", "seed": -1}, "seed must be"),
        ({"command": "describe", "data": {"source": "synthetic", "n_rows": 10}}, "data.n_rows"),
        ({"command": "describe", "data": {"source": "web"}}, "data.source: 'web'"),
        ({"command": "describe", "data": {"nrows": 5}}, "data: unknown key 'nrows'"),
        (
            {"command": "describe", "data": {"n_rows": "many"}},
            "data.n_rows must be an integer; got 'many'",
        ),
        ({"command": "describe", "privacy": {"k": 3}}, "privacy.k must be"),
    ],
)
def test_spec_errors_name_the_key(cfg, message):
    with pytest.raises(ConfigError, match=message):
        run_spec_from_mapping({"cohort": {"name": "all"}, **cfg})


@pytest.mark.parametrize("command", _options("command"))
def test_every_command_composes_with_its_defaults(command):
    config = compose_config([f"command={command}"])
    assert config["command"] == command
    # describe's headline compares children with adults: every case unless one is chosen.
    assert config["cohort"]["name"] == ("all" if command == "describe" else "children")


def test_describe_has_its_own_spec_without_a_target():
    spec = compose_describe()
    assert isinstance(spec, DescribeSpec) and not hasattr(spec, "target")
    assert spec.command == "describe" and spec.cohort.name == "all"
    assert compose_describe(["cohort=boys", "privacy.k=11"]).cohort.name == "boys"
    # No target is needed, but every block is still checked: a typo anywhere is an error.
    config = {"command": "describe", "cohort": {"name": "all"}}
    assert describe_spec_from_mapping(config).privacy.k == 10
    with pytest.raises(ConfigError, match=r"cv\.kind"):
        describe_spec_from_mapping({**config, "cv": {"kind": "random"}})


def test_a_study_spec_always_has_a_target():
    with pytest.raises(TypeError):
        RunSpec(command="study", seed=0, data=_spec([]).data, cohort=_spec([]).cohort)  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="target is not set"):
        run_spec_from_mapping({"command": "replicate", "cohort": {"name": "all"}})
