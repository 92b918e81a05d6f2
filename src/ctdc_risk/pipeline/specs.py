"""Frozen, strictly checked specs that the CLI builds from Hydra configs.

Core code takes these specs, never Hydra's ``DictConfig``. Building a spec from a mapping
refuses unknown keys and wrong types, naming the config key, so a typo in a YAML file is an
error rather than a silently ignored value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

from ctdc_risk.cohort import CohortSpec
from ctdc_risk.data.source import DataSpec
from ctdc_risk.errors import ConfigError
from ctdc_risk.evaluate import CVSpec
from ctdc_risk.factors.interaction_table import LEVEL_CHOICES, MODIFIERS
from ctdc_risk.factors.labels import MULTIPLICITY
from ctdc_risk.factors.stability import StabilitySpec
from ctdc_risk.features import FACTORS, FeatureSetSpec
from ctdc_risk.models import MODEL_NAMES, ModelSpec
from ctdc_risk.privacy import PrivacySpec
from ctdc_risk.target import TargetSpec
from ctdc_risk.targeting.profiles import TargetingSpec
from ctdc_risk.validate import (
    Check,
    Constraints,
    Interval,
    Is,
    ListOf,
    MappingOf,
    Options,
    OrNone,
    Text,
    check_fields,
    check_mapping,
    from_mapping,
)

COMMANDS = ("study", "describe", "replicate")
SUBGROUPS = ("boys_girls", "age_0_8_9_17", "citizenship_region")


@dataclass(frozen=True)
class ExplainSpec:
    """Settings of the factor lenses and of the labelling rule."""

    _constraints: ClassVar[Constraints] = {
        "subgroups": ListOf(Options(SUBGROUPS), example="boys_girls,age_0_8_9_17"),
        "alpha": Interval(float, 0, 0.5, closed="neither"),
        "multiplicity": Options(
            MULTIPLICITY,
            "Holm's family-wise or Benjamini-Hochberg's false-discovery control",
        ),
        "reference": MappingOf(
            Options(FACTORS, what="a factor", why=f"Factors are {', '.join(FACTORS)}."),
            Is(str, what="a level name (text)"),
        ),
        "modifiers": ListOf(Options(MODIFIERS), duplicates="refuse", example="gender"),
        "interaction_levels": Options(
            LEVEL_CHOICES, "the labelled levels, or every level that describes the case"
        ),
    }
    subgroups: tuple[str, ...] = SUBGROUPS
    alpha: float = 0.05
    multiplicity: str = "holm"
    reference: dict[str, str] = field(default_factory=dict)
    modifiers: tuple[str, ...] = tuple(MODIFIERS)
    interaction_levels: str = "labelled"

    def __post_init__(self) -> None:
        check_fields(self, "explain")


@dataclass(frozen=True)
class RunSpec:
    """Everything a study needs (commands ``study`` and ``replicate``)."""

    command: str
    seed: int
    data: DataSpec
    cohort: CohortSpec
    target: TargetSpec
    privacy: PrivacySpec = field(default_factory=PrivacySpec)
    features: FeatureSetSpec = field(default_factory=lambda: FeatureSetSpec("all"))
    models: tuple[ModelSpec, ...] = ()
    cv: CVSpec = field(default_factory=CVSpec)
    explain: ExplainSpec = field(default_factory=ExplainSpec)
    stability: StabilitySpec = field(default_factory=StabilitySpec)
    targeting: TargetingSpec = field(default_factory=TargetingSpec)


@dataclass(frozen=True)
class DescribeSpec:
    """What ``describe`` needs: the data, the cohort (every case by default) and the floor."""

    seed: int
    data: DataSpec
    cohort: CohortSpec
    privacy: PrivacySpec = field(default_factory=PrivacySpec)
    command: str = "describe"


@dataclass(frozen=True)
class ReplicateSpec:
    """The files ``ctdc-risk replicate`` runs one study on, and their names in the tables."""

    _constraints: ClassVar[Constraints] = {
        "data": ListOf(Text(nonempty=True), example="A,B"),
        "names": ListOf(Text(nonempty=True), example="A,B"),
    }
    data: tuple[str, ...] = ()
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_fields(self, "replicate")
        if self.names and len(self.names) != len(self.data):
            raise ConfigError(
                f"replicate.names has {len(self.names)} names for {len(self.data)} files in "
                "replicate.data; give one name per file, or none (each file's name and release)."
            )
        if len(set(self.names)) != len(self.names):
            raise ConfigError(f"replicate.names must all differ; got {list(self.names)}.")


def replicate_spec_from_mapping(cfg: Mapping[str, Any] | None) -> ReplicateSpec:
    """Build a :class:`ReplicateSpec` from the ``replicate`` config block (strict keys)."""
    # null (the block or a list) reads as empty, as the default config's `data: []`
    checks = {name: OrNone(check) for name, check in ReplicateSpec._constraints.items()}
    lists = check_mapping({} if cfg is None else cfg, checks, "replicate")
    data, names = (cast(tuple[str, ...], lists.get(key) or ()) for key in ("data", "names"))
    return ReplicateSpec(data=data, names=names)


# The study reads the blocks below (each one checked by its own spec, in this order); the CLI
# edge reads `tracking`, `compare` and `replicate` (an MLflow run around the study, the compare
# command, the files replicate runs the study on). `replicate` is still checked here, so a typo
# in it is an error.
_BLOCKS = (
    "data", "cohort", "privacy", "target", "features", "model", "cv", "explain", "stability",
    "targeting", "tracking", "compare", "replicate",
)  # fmt: skip
_TOP_LEVEL: Constraints = {
    "command": Options(COMMANDS),
    "seed": Interval(int, 0, None),
    **dict.fromkeys(_BLOCKS, Check()),
}


def run_spec_from_mapping(cfg: Mapping[str, Any]) -> RunSpec:
    """Build a :class:`RunSpec` from a plain (resolved) config mapping."""
    parts = _checked_blocks(cfg)
    if parts["target"] is None:
        raise ConfigError("target is not set: choose one, e.g. target=family_recruitment.")
    return RunSpec(**parts)


def describe_spec_from_mapping(cfg: Mapping[str, Any]) -> DescribeSpec:
    """Build a :class:`DescribeSpec` from a plain (resolved) config mapping.

    Every block of the config is still checked (a typo anywhere is an error), but only the
    data, cohort, seed and privacy floor are kept: describe fits no model and has no target.
    """
    parts = _checked_blocks(cfg)
    return DescribeSpec(
        seed=parts["seed"], data=parts["data"], cohort=parts["cohort"], privacy=parts["privacy"]
    )


def _checked_blocks(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Every block of the config, each built into its spec (``target``: None when unset)."""
    top = check_mapping(cfg, _TOP_LEVEL, "", word="top-level config key")
    command = str(top.get("command", "study"))
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
    parts: dict[str, Any] = {"command": command, "seed": cast(int, top.get("seed", 0))}
    parts["data"] = from_mapping(DataSpec, data_cfg, "data")
    parts["privacy"] = from_mapping(PrivacySpec, cfg.get("privacy") or {}, "privacy")
    parts["cohort"] = CohortSpec.from_mapping(cfg.get("cohort") or {}, key="cohort")
    target = cfg.get("target")
    parts["target"] = TargetSpec.from_mapping(target, key="target") if target else None
    replicate_spec_from_mapping(cfg.get("replicate"))
    parts["features"] = FeatureSetSpec.from_mapping(cfg.get("features") or {}, key="features")
    parts["models"] = _models(cfg.get("model") or {"use": list(MODEL_NAMES)})
    parts["cv"] = CVSpec.from_mapping(cfg.get("cv") or {}, key="cv")
    parts["explain"] = from_mapping(ExplainSpec, cfg.get("explain") or {}, "explain")
    parts["stability"] = StabilitySpec.from_mapping(cfg.get("stability") or {}, key="stability")
    parts["targeting"] = TargetingSpec.from_mapping(cfg.get("targeting") or {}, key="targeting")
    return parts


_MODEL: Constraints = {
    "use": ListOf(Options(MODEL_NAMES), min_len=1, example="logistic,lightgbm"),
    **dict.fromkeys(MODEL_NAMES, Check()),  # each model's settings: models.ModelSpec
}


def _models(cfg: Mapping[str, Any]) -> tuple[ModelSpec, ...]:
    use = cast(tuple[str, ...], check_mapping(cfg, _MODEL, "model", required=["use"])["use"])
    return tuple(
        ModelSpec.from_mapping(name, cfg.get(name) or {}, key=f"model.{name}") for name in use
    )
