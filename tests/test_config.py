"""Every config option composes with Hydra and builds a valid spec."""

from importlib.resources import files

import pytest
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from ctdc_risk.errors import ConfigError
from ctdc_risk.pipeline.specs import run_spec_from_mapping


def _options(group: str) -> list[str]:
    root = files("ctdc_risk.conf") / group
    return sorted(f.name.removesuffix(".yaml") for f in root.iterdir() if f.name.endswith(".yaml"))


def _spec(overrides: list[str]):
    with initialize_config_module(config_module="ctdc_risk.conf", version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    return run_spec_from_mapping(OmegaConf.to_container(cfg, resolve=True))


@pytest.mark.parametrize("option", _options("cohort"))
def test_every_cohort_composes(option):
    spec = _spec([f"cohort={option}"])
    assert spec.cohort.name == option


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
    assert spec.command == "describe"
    assert spec.privacy.k == 10
    assert spec.data.source == "synthetic"


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        ({"command": "describe", "sed": 1}, "unknown top-level config key 'sed'"),
        ({"command": "train"}, "command: 'train'"),
        ({"seed": -1}, "seed must be"),
        ({"data": {"source": "synthetic", "n_rows": 10}}, "data.n_rows must be"),
        ({"data": {"source": "web"}}, "data.source: 'web'"),
        ({"data": {"nrows": 5}}, "data: unknown key 'nrows'"),
        ({"data": {"n_rows": "many"}}, "data.n_rows: expected int"),
        ({"privacy": {"k": 3}}, "privacy.k must be"),
    ],
)
def test_spec_errors_name_the_key(cfg, message):
    with pytest.raises(ConfigError, match=message):
        run_spec_from_mapping(cfg)
