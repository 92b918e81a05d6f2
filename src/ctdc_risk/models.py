"""Interpretable models by registry name, each a scikit-learn Pipeline.

``logistic``: one-hot factors -> logistic regression (L2 by default; L1 or elastic net).
``lightgbm``: integer-coded factors -> shallow, deterministic gradient-boosted trees with
categorical splits (optional monotone constraints on yes/no factors).

Everything that learns from data (factor levels, pooling of rare levels, the model) sits in the
Pipeline, so cross-validation refits all of it per fold. Class imbalance is handled by weights:
with ``class_weight="balanced"`` both classes weigh the same while fitting, and predictions are
corrected back to the observed prevalence (the prior-shift correction of the log-odds), so
probabilities stay calibrated. LightGBM is imported only when a LightGBM model is built.

No leaf of a fitted LightGBM model holds fewer than ``k`` training records (the privacy floor):
``min_child_samples`` is raised to at least ``k``, and since LightGBM only estimates leaf counts
from the hessians, :class:`LeafFloorClassifier` checks the real counts and refits if one is short.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.pipeline import Pipeline

from ctdc_risk.encoding import FactorEncoder
from ctdc_risk.errors import ConfigError, reject_unknown_keys
from ctdc_risk.features import Factor

log = logging.getLogger(__name__)
MODEL_NAMES = ("logistic", "lightgbm")

_LOGISTIC_DEFAULTS: dict[str, Any] = {
    "penalty": "l2",
    "C": 1.0,
    "l1_ratio": 0.5,
    "class_weight": "balanced",
    "max_iter": 2000,
}
_LIGHTGBM_DEFAULTS: dict[str, Any] = {
    "n_estimators": 200,
    "learning_rate": 0.05,
    "max_depth": 3,
    "num_leaves": 8,
    "min_child_samples": 20,
    "reg_lambda": 1.0,
    "class_weight": "balanced",
    "monotone": {},
}


@dataclass(frozen=True)
class ModelSpec:
    """A model chosen by registry name, with its settings."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, name: str, data: Mapping[str, Any], *, key: str) -> ModelSpec:
        if name not in MODEL_NAMES:
            raise ConfigError(
                f"{key}: unknown model {name!r}; models are {', '.join(MODEL_NAMES)}."
            )
        defaults = _LOGISTIC_DEFAULTS if name == "logistic" else _LIGHTGBM_DEFAULTS
        reject_unknown_keys(data, defaults, key, word="setting")
        params = {**defaults, **dict(data)}
        _check_params(name, params, key)
        return cls(name, params)


def _check_params(name: str, p: dict[str, Any], key: str) -> None:
    if p["class_weight"] not in ("balanced", None):
        raise ConfigError(
            f"{key}.class_weight must be 'balanced' or null; got {p['class_weight']!r}."
        )
    if name == "logistic":
        if p["penalty"] not in ("l2", "l1", "elasticnet"):
            raise ConfigError(f"{key}.penalty must be l2, l1 or elasticnet; got {p['penalty']!r}.")
        if not (isinstance(p["C"], int | float) and p["C"] > 0):
            raise ConfigError(f"{key}.C must be a positive number; got {p['C']!r}.")
        if not 0 <= p["l1_ratio"] <= 1:
            raise ConfigError(f"{key}.l1_ratio must be within 0..1; got {p['l1_ratio']!r}.")
        return
    for int_key in ("n_estimators", "max_depth", "num_leaves", "min_child_samples"):
        if not isinstance(p[int_key], int) or isinstance(p[int_key], bool) or p[int_key] < 1:
            raise ConfigError(f"{key}.{int_key} must be a positive integer; got {p[int_key]!r}.")
    if not isinstance(p["monotone"], Mapping) or any(
        v not in (-1, 1) for v in p["monotone"].values()
    ):
        raise ConfigError(f"{key}.monotone must map yes/no factors to -1 or 1.")


class WeightedClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Fit with balanced class weights, predict at the observed prevalence.

    With balanced weights the model learns as if both classes were equally common; adding
    ``log(prevalence / (1 - prevalence))`` to its log-odds restores the real base rate
    (prior-shift correction), leaving the factor effects untouched.
    """

    def __init__(
        self,
        estimator: Any = None,
        class_weight: str | None = "balanced",
        fit_params: dict[str, Any] | None = None,
    ) -> None:
        self.estimator = estimator
        self.class_weight = class_weight
        self.fit_params = fit_params

    def fit(self, X: Any, y: np.ndarray) -> WeightedClassifier:
        y = np.asarray(y, dtype=int)
        self.classes_ = np.array([0, 1])
        prevalence = float(y.mean())
        kwargs = dict(self.fit_params or {})
        if self.class_weight == "balanced":
            w = np.where(y == 1, 0.5 / prevalence, 0.5 / (1 - prevalence))
            kwargs["sample_weight"] = w
            self.offset_ = float(np.log(prevalence / (1 - prevalence)))
        else:
            self.offset_ = 0.0
        self.estimator_ = clone(self.estimator).fit(X, y, **kwargs)
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Log-odds of the outcome at the observed prevalence."""
        p = self.estimator_.predict_proba(X)[:, 1]
        p = np.clip(p, 1e-12, 1 - 1e-12)
        out: np.ndarray = np.log(p / (1 - p)) + self.offset_
        return out

    def predict_proba(self, X: Any) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def smallest_leaf_count(booster: Any) -> int:
    """The fewest training records in any leaf of a fitted LightGBM ``booster``."""
    smallest: int | None = None
    for tree in booster.dump_model()["tree_info"]:
        nodes = [tree["tree_structure"]]
        while nodes:
            node = nodes.pop()
            if "left_child" in node:
                nodes += [node["left_child"], node["right_child"]]
            elif smallest is None or node["leaf_count"] < smallest:
                smallest = int(node["leaf_count"])
    if smallest is None:
        raise ValueError("the booster holds no tree")
    return smallest


class LeafFloorClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A LightGBM classifier none of whose leaves holds fewer than ``min_leaf`` training records.

    LightGBM's ``min_child_samples`` is checked on record counts estimated from the hessians,
    which vary with each record's predicted probability and class weight, so a leaf can end up
    a few records short. After fitting, the real count of every leaf is read from the booster;
    while one is short, the model is refitted with ``min_child_samples`` raised by the shortfall.
    (Once ``min_child_samples`` exceeds half the records no split is possible, so this ends.)
    """

    def __init__(self, estimator: Any = None, min_leaf: int = 1) -> None:
        self.estimator = estimator
        self.min_leaf = min_leaf

    def fit(self, X: Any, y: np.ndarray, **fit_params: Any) -> LeafFloorClassifier:
        if len(y) < self.min_leaf:
            raise ValueError(
                f"min_leaf={self.min_leaf} cannot be met: only {len(y)} training records."
            )
        min_child = max(int(self.estimator.get_params()["min_child_samples"]), self.min_leaf)
        while True:
            model = clone(self.estimator).set_params(min_child_samples=min_child)
            model.fit(X, y, **fit_params)
            smallest = smallest_leaf_count(model.booster_)
            if smallest >= self.min_leaf:
                break
            log.debug("a leaf holds %d < %d records; refitting", smallest, self.min_leaf)
            min_child += self.min_leaf - smallest
        self.estimator_ = model
        self.booster_ = model.booster_
        self.classes_ = model.classes_
        self.min_child_samples_ = min_child
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        out: np.ndarray = self.estimator_.predict_proba(X)
        return out


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
    factor_kinds = tuple((f.name, f.kind) for f in factors)
    p = spec.params
    if spec.name == "logistic":
        from sklearn.linear_model import LogisticRegression

        solver = "lbfgs" if p["penalty"] == "l2" else "saga"
        kwargs: dict[str, Any] = {"C": float(p["C"]), "solver": solver, "max_iter": p["max_iter"]}
        if p["penalty"] == "l1":
            kwargs["l1_ratio"] = 1.0
        elif p["penalty"] == "elasticnet":
            kwargs["l1_ratio"] = float(p["l1_ratio"])
        model = LogisticRegression(random_state=seed, **kwargs)
        encoder = FactorEncoder(
            factor_kinds, min_count=k, positive_only=positive_only, reference=reference
        )
        classifier = WeightedClassifier(model, p["class_weight"])
        return Pipeline([("encode", encoder), ("model", classifier)])
    import lightgbm as lgb

    monotone = dict(p["monotone"])
    unknown = [name for name in monotone if name not in dict(factor_kinds)]
    if unknown:
        raise ConfigError(f"model.lightgbm.monotone: {unknown[0]!r} is not a factor of this study.")
    not_flags = [n for n in monotone if dict(factor_kinds)[n] not in ("flag", "binary")]
    if not_flags:
        raise ConfigError(
            f"model.lightgbm.monotone: {not_flags[0]!r} is not a yes/no factor; monotone "
            "constraints apply to yes/no factors only."
        )
    # Flag codes are ordered no < unknown < yes (reference first, then sorted levels), so a
    # monotone constraint on a yes/no factor treats its codes as numbers, not categories.
    encoder = FactorEncoder(
        factor_kinds,
        min_count=k,
        positive_only=positive_only,
        output="ordinal",
        reference=reference,
    )
    names = [name for name, _ in factor_kinds]
    booster = lgb.LGBMClassifier(
        objective="binary",
        n_estimators=p["n_estimators"],
        learning_rate=p["learning_rate"],
        max_depth=p["max_depth"],
        num_leaves=p["num_leaves"],
        min_child_samples=max(p["min_child_samples"], k),
        min_data_per_group=max(k, 10),
        cat_smooth=10.0,
        max_cat_to_onehot=4,
        reg_lambda=p["reg_lambda"],
        monotone_constraints=[monotone.get(n, 0) for n in names],
        deterministic=True,
        force_row_wise=True,
        n_jobs=1,
        random_state=seed,
        verbose=-1,
    )
    categorical = [i for i, n in enumerate(names) if n not in monotone]
    classifier = WeightedClassifier(
        LeafFloorClassifier(booster, min_leaf=k),
        p["class_weight"],
        fit_params={"categorical_feature": categorical},
    )
    return Pipeline([("encode", encoder), ("model", classifier)])
