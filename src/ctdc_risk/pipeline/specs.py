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
from ctdc_risk.data.source import DataSpec
from ctdc_risk.errors import ConfigError, reject_unknown_keys
from ctdc_risk.evaluate import CVSpec
from ctdc_risk.factors.interaction_table import LEVEL_CHOICES, MODIFIERS
from ctdc_risk.factors.stability import StabilitySpec
from ctdc_risk.factors.table import MULTIPLICITY
from ctdc_risk.features import FACTORS, FeatureSetSpec
from ctdc_risk.models import MODEL_NAMES, ModelSpec
from ctdc_risk.privacy import PrivacySpec
from ctdc_risk.target import TargetSpec
from ctdc_risk.targeting.profiles import TargetingSpec

COMMANDS = ("study", "describe", "replicate")
SUBGROUPS = ("boys_girls", "age_0_8_9_17", "citizenship_region")


@dataclass(frozen=True)
class ExplainSpec:
    """Settings of the factor lenses and of the labelling rule."""

    subgroups: tuple[str, ...] = SUBGROUPS
    alpha: float = 0.05
    multiplicity: str = "holm"
    reference: dict[str, str] = field(default_factory=dict)
    modifiers: tuple[str, ...] = tuple(MODIFIERS)
    interaction_levels: str = "labelled"

    def __post_init__(self) -> None:
        if isinstance(self.modifiers, str):  # type: ignore[unreachable]  # from a YAML scalar
            raise ConfigError(
                f"explain.modifiers must be a list, e.g. [gender]; got {self.modifiers!r}."
            )
        for name in self.modifiers:
            if name not in MODIFIERS:
                raise ConfigError(
                    f"explain.modifiers: {name!r} is not one of {', '.join(MODIFIERS)}."
                )
        if len(set(self.modifiers)) < len(self.modifiers):
            raise ConfigError(f"explain.modifiers lists a modifier twice: {list(self.modifiers)}.")
        if self.interaction_levels not in LEVEL_CHOICES:
            raise ConfigError(
                f"explain.interaction_levels must be one of {', '.join(LEVEL_CHOICES)} (the "
                "labelled levels, or every level that describes the case); got "
                f"{self.interaction_levels!r}."
            )
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


@dataclass(frozen=True)
class ReplicateSpec:
    """The files ``ctdc-risk replicate`` runs one study on, and their names in the tables."""

    data: tuple[str, ...] = ()
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for key in ("data", "names"):
            for i, value in enumerate(getattr(self, key)):
                if not isinstance(value, str) or not value.strip():
                    raise ConfigError(
                        f"replicate.{key}[{i}] must be a non-empty text; got {value!r}."
                    )
        if self.names and len(self.names) != len(self.data):
            raise ConfigError(
                f"replicate.names has {len(self.names)} names for {len(self.data)} files in "
                "replicate.data; give one name per file, or none (each file's name and release)."
            )
        if len(set(self.names)) != len(self.names):
            raise ConfigError(f"replicate.names must all differ; got {list(self.names)}.")


def replicate_spec_from_mapping(cfg: Mapping[str, Any] | None) -> ReplicateSpec:
    """Build a :class:`ReplicateSpec` from the ``replicate`` config block (strict keys)."""
    cfg = cfg or {}
    if not isinstance(cfg, Mapping):
        raise ConfigError(f"replicate must be a mapping; got {type(cfg).__name__}.")
    reject_unknown_keys(cfg, {"data", "names"}, "replicate")
    lists = {}
    for key in ("data", "names"):
        value = cfg.get(key) or []
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise ConfigError(
                f"replicate.{key} must be a list like [A,B]; got {value!r}. On the command line: "
                f"replicate.{key}=[A,B,C]."
            )
        lists[key] = tuple(value)
    return ReplicateSpec(data=lists["data"], names=lists["names"])


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
    # `tracking`, `compare` and `replicate` belong to the CLI edge (an MLflow run around the
    # study, the compare command, the files replicate runs the study on); the study itself
    # ignores them. The replicate block is still checked here, so a typo in it is an error.
    allowed = {
        "command", "seed", "data", "cohort", "privacy", "target", "features", "model", "cv",
        "explain", "stability", "targeting", "tracking", "compare", "replicate",
    }  # fmt: skip
    reject_unknown_keys(cfg, allowed, "", word="top-level config key")
    command = cfg.get("command", "study")
    if command not in COMMANDS:
        raise ConfigError(f"command: {command!r} is not one of {', '.join(COMMANDS)}.")
    seed = cfg.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer; got {seed!r}.")
    data_cfg = cfg.get("data") or {}
    names_a_file = isinstance(data_cfg, Mapping) and (
        data_cfg.get("source") == "file" or data_cfg.get("path") not in (None, "???")
    )
    if command == "replicate" and names_a_file:
        raise ConfigError(
            "replicate reads the files listed in replicate.data=[A,B,...]: leave out "
            "data=ctdc and data.path (data.encoding, data.delimiter and data.sheet still "
            "apply to every file)."
        )
    data = _typed(DataSpec, data_cfg, "data")
    privacy = _typed(PrivacySpec, cfg.get("privacy") or {}, "privacy")
    cohort = CohortSpec.from_mapping(cfg.get("cohort") or {}, key="cohort")
    target = TargetSpec.from_mapping(cfg["target"], key="target") if cfg.get("target") else None
    if command in ("study", "replicate") and target is None:
        raise ConfigError("target is not set: choose one, e.g. target=family_recruitment.")
    replicate_spec_from_mapping(cfg.get("replicate"))
    features = FeatureSetSpec.from_mapping(cfg.get("features") or {}, key="features")
    models = _models(cfg.get("model") or {"use": list(MODEL_NAMES)})
    cv = CVSpec.from_mapping(cfg.get("cv") or {}, key="cv")
    explain_cfg = dict(cfg.get("explain") or {})
    for key in ("subgroups", "modifiers"):
        if isinstance(explain_cfg.get(key), list | tuple):
            explain_cfg[key] = tuple(explain_cfg[key])
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
