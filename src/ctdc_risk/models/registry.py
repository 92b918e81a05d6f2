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

from ctdc_risk.errors import ConfigError, reject_unknown_keys
from ctdc_risk.features import Factor
from ctdc_risk.models import linear, trees
from ctdc_risk.models.setup import ModelSetup
from ctdc_risk.outputs import RunFolder


@dataclass(frozen=True)
class ModelKind:
    """One kind of model of the registry.

    Attributes
    ----------
    name
        The registry name (``model=<name>`` in a config).
    defaults
        Every setting with its default; other keys are refused.
    check
        ``check(params, key)`` raises a ConfigError naming ``key.setting`` on a bad value.
    build
        ``build(params, setup)`` -> an unfitted Pipeline (``encode`` then ``model``).
    save
        ``save(out_dir, fitted, k)`` writes the fitted model in a format that runs no code when
        loaded and returns the files written.
    leads
        Whether the study explains itself with this model when it is fitted (its SHAP values
        lead the report); otherwise the first configured model does.
    """

    name: str
    defaults: Mapping[str, Any]
    check: Callable[[dict[str, Any], str], None]
    build: Callable[[dict[str, Any], ModelSetup], Pipeline]
    save: Callable[[RunFolder, Pipeline], tuple[Path, ...]]
    leads: bool = False


MODELS: dict[str, ModelKind] = {
    "logistic": ModelKind(
        "logistic", linear.DEFAULTS, linear.check_params, linear.build, linear.save
    ),
    "lightgbm": ModelKind(
        "lightgbm", trees.DEFAULTS, trees.check_params, trees.build, trees.save, leads=True
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
            raise ConfigError(
                f"{key}: unknown model {name!r}; models are {', '.join(MODEL_NAMES)}."
            )
        kind = MODELS[name]
        reject_unknown_keys(data, kind.defaults, key, word="setting")
        params = {**kind.defaults, **dict(data)}
        if params["class_weight"] not in ("balanced", None):
            raise ConfigError(
                f"{key}.class_weight must be 'balanced' or null; got {params['class_weight']!r}."
            )
        kind.check(params, key)
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
