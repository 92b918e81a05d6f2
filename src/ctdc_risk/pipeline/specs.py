"""Frozen, strictly checked specs that the CLI builds from Hydra configs.

Core code takes these specs, never Hydra's ``DictConfig``. Building a spec from a mapping
refuses unknown keys and wrong types, naming the config key, so a typo in a YAML file is an
error rather than a silently ignored value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from ctdc_risk.cohort import CohortSpec
from ctdc_risk.data.io import DEFAULT_MAX_BYTES
from ctdc_risk.data.synthetic import MAX_ROWS, MIN_ROWS
from ctdc_risk.errors import ConfigError
from ctdc_risk.privacy import PrivacySpec

COMMANDS = ("describe",)
DATA_SOURCES = ("synthetic", "file")


@dataclass(frozen=True)
class DataSpec:
    """Where the data comes from and how to read it."""

    source: str = "synthetic"
    path: str | None = None
    n_rows: int = 50_000
    seed: int | None = None
    encoding: str = "auto"
    delimiter: str = "auto"
    sheet: str | int | None = None
    max_bytes: int = DEFAULT_MAX_BYTES

    def __post_init__(self) -> None:
        if self.source not in DATA_SOURCES:
            raise ConfigError(
                f"data.source: {self.source!r} is not one of {', '.join(DATA_SOURCES)}."
            )
        if self.source == "file" and not self.path:
            raise ConfigError(
                "data.path is not set: choose the CTDC file with data=ctdc data.path=FILE."
            )
        if self.source == "synthetic" and not MIN_ROWS <= self.n_rows <= MAX_ROWS:
            raise ConfigError(
                f"data.n_rows must be from {MIN_ROWS:,} to {MAX_ROWS:,}; got {self.n_rows:,}."
            )
        if self.max_bytes <= 0:
            raise ConfigError(f"data.max_bytes must be positive; got {self.max_bytes}.")


@dataclass(frozen=True)
class RunSpec:
    """Everything one command needs."""

    command: str
    seed: int
    data: DataSpec
    cohort: CohortSpec
    privacy: PrivacySpec = field(default_factory=PrivacySpec)


def _typed(cls: type, data: Mapping[str, Any], key: str) -> Any:
    """Build dataclass ``cls`` from ``data``, refusing unknown keys and wrong scalar types."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{key} must be a mapping; got {type(data).__name__}.")
    allowed = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        if name not in allowed:
            raise ConfigError(
                f"{key}: unknown key {name!r}; allowed keys are {', '.join(sorted(allowed))}."
            )
        if value == "???":
            hint = " (choose the file with data=ctdc data.path=FILE)" if name == "path" else ""
            raise ConfigError(f"{key}.{name} is not set{hint}.")
        expected = str(allowed[name].type)
        if value is not None and not _type_ok(value, expected):
            raise ConfigError(
                f"{key}.{name}: expected {expected}, got {type(value).__name__} {value!r}."
            )
        kwargs[name] = value
    return cls(**kwargs)


def _type_ok(value: Any, expected: str) -> bool:
    if isinstance(value, bool):
        return "bool" in expected
    if isinstance(value, int):
        return "int" in expected
    if isinstance(value, str):
        return "str" in expected
    return False


def run_spec_from_mapping(cfg: Mapping[str, Any]) -> RunSpec:
    """Build a :class:`RunSpec` from a plain (resolved) config mapping."""
    allowed = {"command", "seed", "data", "cohort", "privacy"}
    unknown = sorted(set(map(str, cfg)) - allowed)
    if unknown:
        raise ConfigError(
            f"unknown top-level config key {unknown[0]!r}; allowed keys are "
            f"{', '.join(sorted(allowed))}."
        )
    command = cfg.get("command", "describe")
    if command not in COMMANDS:
        raise ConfigError(f"command: {command!r} is not one of {', '.join(COMMANDS)}.")
    seed = cfg.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer; got {seed!r}.")
    data = _typed(DataSpec, cfg.get("data") or {}, "data")
    privacy = _typed(PrivacySpec, cfg.get("privacy") or {}, "privacy")
    cohort = CohortSpec.from_mapping(cfg.get("cohort") or {}, key="cohort")
    return RunSpec(command=command, seed=seed, data=data, cohort=cohort, privacy=privacy)
