"""Interpretable models by registry name, each a scikit-learn Pipeline.

``logistic`` (:mod:`~ctdc_risk.models.linear`): one-hot factors -> logistic regression.
``lightgbm`` (:mod:`~ctdc_risk.models.trees`): integer-coded factors -> shallow, deterministic
gradient-boosted trees with categorical splits. :mod:`~ctdc_risk.models.registry` holds what
each kind is; :mod:`~ctdc_risk.models.classifiers` the class-weighting and leaf-floor wrappers.
"""

from ctdc_risk.models.classifiers import (
    LeafFloorClassifier,
    WeightedClassifier,
    smallest_leaf_count,
)
from ctdc_risk.models.registry import (
    MODEL_NAMES,
    MODELS,
    ModelKind,
    ModelSpec,
    build_model,
    lead_model,
    save_models,
)

__all__ = [
    "MODELS",
    "MODEL_NAMES",
    "LeafFloorClassifier",
    "ModelKind",
    "ModelSpec",
    "WeightedClassifier",
    "build_model",
    "lead_model",
    "save_models",
    "smallest_leaf_count",
]
