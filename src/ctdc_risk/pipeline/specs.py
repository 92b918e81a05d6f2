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
from ctdc_risk.data.child_status import CHILD_RULES, DEFAULT_CHILD_RULE
from ctdc_risk.data.columns import check_column_targets
from ctdc_risk.data.io import DEFAULT_MAX_BYTES
from ctdc_risk.data.synthetic import MAX_ROWS, MIN_ROWS
from ctdc_risk.errors import ConfigError, reject_unknown_keys
from ctdc_risk.evaluate import CVSpec
from ctdc_risk.factors.stability import StabilitySpec
from ctdc_risk.factors.table import MULTIPLICITY
from ctdc_risk.features import FACTORS, FeatureSetSpec
from ctdc_risk.models import MODEL_NAMES, ModelSpec
from ctdc_risk.privacy import PrivacySpec
from ctdc_risk.target import TargetSpec
from ctdc_risk.targeting.profiles import TargetingSpec

COMMANDS = ("study", "describe")
SUBGROUPS = ("boys_girls", "age_0_8_9_17", "citizenship_region")
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
    child_rule: str = DEFAULT_CHILD_RULE
    """Who is a child: ``exploitation`` (minor when exploited, where recorded), ``registration``
    or ``either`` (see :mod:`ctdc_risk.data.child_status`)."""
    columns: dict[str, str] | None = None
    """Your own column names: ``{name in the file: CTDC name}`` (see
    :mod:`ctdc_risk.data.columns`)."""

    def __post_init__(self) -> None:
        if self.columns:
            if self.source != "file":
                raise ConfigError(
                    "data.columns renames the columns of a file: use it with data=ctdc "
                    "data.path=FILE."
                )
            check_column_targets(self.columns)
        if self.child_rule not in CHILD_RULES:
            raise ConfigError(
                f"data.child_rule: {self.child_rule!r} is not one of {', '.join(CHILD_RULES)} "
                "(a child when exploited, when registered, or by either)."
            )
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
class ExplainSpec:
    """Settings of the factor lenses and of the labelling rule."""

    subgroups: tuple[str, ...] = SUBGROUPS
    alpha: float = 0.05
    multiplicity: str = "holm"
    reference: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in self.subgroups:
            if name not in SUBGROUPS:
                raise ConfigError(
                    f"explain.subgroups: {name!r} is not one of {', '.join(SUBGROUPS)}."
                )
        if isinstance(self.alpha, bool) or not 0 < float(self.alpha) < 0.5:
            raise ConfigError(f"explain.alpha must be within 0..0.5; got {self.alpha!r}.")
        if self.multiplicity not in MULTIPLICITY:
            raise ConfigError(
                f"explain.multiplicity must be one of {', '.join(MULTIPLICITY)} (Holm's "
                f"family-wise or Benjamini-Hochberg's false-discovery control); got "
                f"{self.multiplicity!r}."
            )
        for factor, level in self.reference.items():
            if factor not in FACTORS:
                raise ConfigError(
                    f"explain.reference: {factor!r} is not a factor; factors are "
                    f"{', '.join(FACTORS)}."
                )
            if not isinstance(level, str):
                raise ConfigError(f"explain.reference.{factor} must be a level name (text).")


@dataclass(frozen=True)
class RunSpec:
    """Everything one command needs."""

    command: str
    seed: int
    data: DataSpec
    cohort: CohortSpec
    privacy: PrivacySpec = field(default_factory=PrivacySpec)
    target: TargetSpec | None = None
    features: FeatureSetSpec = field(default_factory=lambda: FeatureSetSpec("all"))
    models: tuple[ModelSpec, ...] = ()
    cv: CVSpec = field(default_factory=CVSpec)
    explain: ExplainSpec = field(default_factory=ExplainSpec)
    stability: StabilitySpec = field(default_factory=StabilitySpec)
    targeting: TargetingSpec = field(default_factory=TargetingSpec)


def _typed(cls: type, data: Mapping[str, Any], key: str) -> Any:
    """Build dataclass ``cls`` from ``data``, refusing unknown keys and wrong scalar types."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{key} must be a mapping; got {type(data).__name__}.")
    allowed = {f.name: f for f in fields(cls)}
    reject_unknown_keys(data, allowed, key)
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
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
        return "int" in expected or "float" in expected
    if isinstance(value, float):
        return "float" in expected
    if isinstance(value, Mapping):
        return "dict" in expected
    if isinstance(value, str):
        return "str" in expected
    if isinstance(value, list | tuple):
        return "tuple" in expected
    return False


def run_spec_from_mapping(cfg: Mapping[str, Any]) -> RunSpec:
    """Build a :class:`RunSpec` from a plain (resolved) config mapping."""
    # `tracking` and `compare` belong to the CLI edge (an MLflow run around the study, and the
    # compare command); the study itself ignores them.
    allowed = {
        "command", "seed", "data", "cohort", "privacy", "target", "features", "model", "cv",
        "explain", "stability", "targeting", "tracking", "compare",
    }  # fmt: skip
    reject_unknown_keys(cfg, allowed, "", word="top-level config key")
    command = cfg.get("command", "study")
    if command not in COMMANDS:
        raise ConfigError(f"command: {command!r} is not one of {', '.join(COMMANDS)}.")
    seed = cfg.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer; got {seed!r}.")
    data = _typed(DataSpec, cfg.get("data") or {}, "data")
    privacy = _typed(PrivacySpec, cfg.get("privacy") or {}, "privacy")
    cohort = CohortSpec.from_mapping(cfg.get("cohort") or {}, key="cohort")
    target = TargetSpec.from_mapping(cfg["target"], key="target") if cfg.get("target") else None
    if command == "study" and target is None:
        raise ConfigError("target is not set: choose one, e.g. target=family_recruitment.")
    features = FeatureSetSpec.from_mapping(cfg.get("features") or {}, key="features")
    models = _models(cfg.get("model") or {"use": list(MODEL_NAMES)})
    cv = CVSpec.from_mapping(cfg.get("cv") or {}, key="cv")
    explain_cfg = dict(cfg.get("explain") or {})
    if "subgroups" in explain_cfg:
        explain_cfg["subgroups"] = tuple(explain_cfg["subgroups"])
    if isinstance(explain_cfg.get("reference"), Mapping):
        explain_cfg["reference"] = {str(k): v for k, v in explain_cfg["reference"].items()}
    explain = _typed(ExplainSpec, explain_cfg, "explain")
    stability = StabilitySpec.from_mapping(cfg.get("stability") or {}, key="stability")
    targeting = TargetingSpec.from_mapping(cfg.get("targeting") or {}, key="targeting")
    return RunSpec(
        command=command,
        seed=seed,
        data=data,
        cohort=cohort,
        privacy=privacy,
        target=target,
        features=features,
        models=models,
        cv=cv,
        explain=explain,
        stability=stability,
        targeting=targeting,
    )


def _models(cfg: Mapping[str, Any]) -> tuple[ModelSpec, ...]:
    use = cfg.get("use") or []
    if isinstance(use, str) or not use:
        raise ConfigError("model.use must be a non-empty list of model names, e.g. [lightgbm].")
    allowed = {"use", *MODEL_NAMES}
    reject_unknown_keys(cfg, allowed, "model")
    specs = []
    for name in use:
        if name not in MODEL_NAMES:
            raise ConfigError(
                f"model.use: unknown model {name!r}; models are {', '.join(MODEL_NAMES)}."
            )
        specs.append(ModelSpec.from_mapping(name, cfg.get(name) or {}, key=f"model.{name}"))
    return tuple(specs)
