"""Compose the package's Hydra configs into a spec without the command line.

For notebooks, scripts and tests: the same composition the CLI performs, in one call.

Examples
--------
>>> spec = compose_spec(["cohort=boys", "model=lightgbm"])
>>> spec.cohort.name, [m.name for m in spec.models]
('boys', ['lightgbm'])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from ctdc_risk.pipeline.specs import (
    DescribeSpec,
    ReplicateSpec,
    RunSpec,
    describe_spec_from_mapping,
    replicate_spec_from_mapping,
    run_spec_from_mapping,
)


def compose_config(overrides: Sequence[str] = ()) -> dict[str, Any]:
    """The resolved config (plain dict) for these overrides, as the CLI would compose it."""
    with initialize_config_module(config_module="ctdc_risk.conf", version_base="1.3"):
        cfg = compose(config_name="config", overrides=list(overrides))
    plain = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(plain, dict)
    return {str(key): value for key, value in plain.items()}


def compose_spec(overrides: Sequence[str] = ()) -> RunSpec:
    """The checked :class:`RunSpec` for these overrides."""
    return run_spec_from_mapping(compose_config(overrides))


def compose_describe(overrides: Sequence[str] = ()) -> DescribeSpec:
    """The checked :class:`DescribeSpec` for these overrides, with describe's own defaults
    (``conf/command/describe.yaml``: every case unless a cohort is chosen)."""
    return describe_spec_from_mapping(compose_config(["command=describe", *overrides]))


def compose_replication(overrides: Sequence[str] = ()) -> tuple[RunSpec, ReplicateSpec]:
    """The study spec and the ``replicate`` block (its files and names) for these overrides."""
    config = compose_config(overrides)
    return run_spec_from_mapping(config), replicate_spec_from_mapping(config.get("replicate"))
