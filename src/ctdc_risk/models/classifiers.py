"""The classifiers inside the model Pipelines: class weights with prevalence correction, and a
LightGBM wrapper whose every leaf holds at least ``k`` training records (the privacy floor).

With ``class_weight="balanced"`` both classes weigh the same while fitting, and predictions are
corrected back to the observed prevalence (the prior-shift correction of the log-odds), so
probabilities stay calibrated. LightGBM only estimates leaf counts from the hessians, so
:class:`LeafFloorClassifier` checks the real counts and refits if one is short.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone

log = logging.getLogger(__name__)


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
