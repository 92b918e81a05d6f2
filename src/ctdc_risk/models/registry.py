"""Interpretable models by registry name: what each kind is, in one place.

A :class:`ModelKind` says how a kind of model checks its settings, builds its scikit-learn
Pipeline, saves itself into a run folder and whether it leads the study's explanation; code
elsewhere asks the registry instead of comparing names.

Everything that learns from data (factor levels, pooling of rare levels, the model) sits in the
Pipeline, so cross-validation refits all of it per fold.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sklearn.pipeline import Pipeline

from ctdc_risk.errors import ConfigError
from ctdc_risk.features import Factor
from ctdc_risk.models import linear, trees
from ctdc_risk.models.setup import ModelSetup
from ctdc_risk.outputs import RunFolder
from ctdc_risk.validate import Constraints, check_mapping, closest


@dataclass(frozen=True)
class ModelKind:
    """One kind of model of the registry.

    Attributes
    ----------
    name
        The registry name (``model=<name>`` in a config).
    defaults
        Every setting with its default (the keys of ``settings``).
    settings
        What each setting may be (:mod:`ctdc_risk.validate` constraints); a bad value is a
        ConfigError naming ``key.setting``.
    build
        ``build(params, setup)`` -> an unfitted Pipeline (``encode`` then ``model``).
    save
        ``save(folder, fitted)`` writes the fitted model into the run folder (privacy-guarded)
        in a format that runs no code when loaded, and returns the files written.
    leads
        Whether the study explains itself with this model when it is fitted (its SHAP values
        lead the report); otherwise the first configured model does.
    """

    name: str
    defaults: Mapping[str, Any]
    settings: Constraints
    build: Callable[[dict[str, Any], ModelSetup], Pipeline]
    save: Callable[[RunFolder, Pipeline], tuple[Path, ...]]
    leads: bool = False


MODELS: dict[str, ModelKind] = {
    "logistic": ModelKind("logistic", linear.DEFAULTS, linear.SETTINGS, linear.build, linear.save),
    "lightgbm": ModelKind(
        "lightgbm", trees.DEFAULTS, trees.SETTINGS, trees.build, trees.save, leads=True
    ),
}
MODEL_NAMES = tuple(MODELS)


@dataclass(frozen=True)
class ModelSpec:
    """A model chosen by registry name, with its settings."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, name: str, data: Mapping[str, Any], *, key: str) -> ModelSpec:
        if name not in MODELS:
            near = closest(name, MODELS)
            hint = f"; did you mean {near}?" if near else ""
            raise ConfigError(
                f"{key}: unknown model {name!r}{hint} Models are {', '.join(MODEL_NAMES)}."
            )
        kind = MODELS[name]
        params = {**kind.defaults, **check_mapping(data, kind.settings, key, word="setting")}
        return cls(name, params)


def build_model(
    spec: ModelSpec,
    factors: tuple[Factor, ...],
    *,
    k: int,
    positive_only: bool,
    seed: int,
    reference: Mapping[str, str] | None = None,
) -> Pipeline:
    """The model's Pipeline: factor encoder then the (weighted) classifier."""
    setup = ModelSetup(tuple((f.name, f.kind) for f in factors), k, positive_only, seed, reference)
    return MODELS[spec.name].build(spec.params, setup)


def lead_model(names: Sequence[str]) -> str:
    """The model whose explanation leads the study: the first that :attr:`ModelKind.leads`,
    else the first of ``names`` (in configured order)."""
    return next((n for n in names if MODELS[n].leads), names[0])


def save_models(folder: RunFolder, fitted: Mapping[str, Pipeline]) -> tuple[Path, ...]:
    """Every fitted model in its registry format, then ``models/sha256.json`` of those files.

    Nothing is pickled, and the package never loads a model file it did not write.
    """
    files = [
        path for name, pipeline in fitted.items() for path in MODELS[name].save(folder, pipeline)
    ]
    hashes = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    files.append(folder.write_json("models/sha256.json", hashes))
    return tuple(files)
