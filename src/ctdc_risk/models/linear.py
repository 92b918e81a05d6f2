"""``logistic``: one-hot factors -> logistic regression (L2 by default; L1 or elastic net)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sklearn.pipeline import Pipeline

from ctdc_risk.encoding import FactorEncoder
from ctdc_risk.models.classifiers import WeightedClassifier
from ctdc_risk.models.setup import ModelSetup
from ctdc_risk.outputs import RunFolder
from ctdc_risk.validate import Constraints, Interval, Options

DEFAULTS: dict[str, Any] = {
    "penalty": "l2",
    "C": 1.0,
    "l1_ratio": 0.5,
    "class_weight": "balanced",
    "max_iter": 2000,
}


SETTINGS: Constraints = {
    "penalty": Options(("l2", "l1", "elasticnet")),
    "C": Interval(float, 0, None, closed="neither"),
    "l1_ratio": Interval(float, 0, 1),
    "class_weight": Options(("balanced", None)),
    "max_iter": Interval(int, 1, None),
}
"""What each setting may be (checked when the config is read: ``ModelSpec.from_mapping``)."""


def build(p: dict[str, Any], setup: ModelSetup) -> Pipeline:
    """Factor encoder (one-hot) then the weighted logistic regression."""
    from sklearn.linear_model import LogisticRegression

    solver = "lbfgs" if p["penalty"] == "l2" else "saga"
    kwargs: dict[str, Any] = {"C": float(p["C"]), "solver": solver, "max_iter": p["max_iter"]}
    if p["penalty"] == "l1":
        kwargs["l1_ratio"] = 1.0
    elif p["penalty"] == "elasticnet":
        kwargs["l1_ratio"] = float(p["l1_ratio"])
    model = LogisticRegression(random_state=setup.seed, **kwargs)
    encoder = FactorEncoder(
        setup.factor_kinds,
        min_count=setup.k,
        positive_only=setup.positive_only,
        reference=setup.reference,
    )
    classifier = WeightedClassifier(model, p["class_weight"])
    return Pipeline([("encode", encoder), ("model", classifier)])


def save(folder: RunFolder, pipeline: Pipeline) -> tuple[Path, ...]:
    """Intercept, prior offset and one coefficient per factor level, as JSON (nothing pickled)."""
    classifier: WeightedClassifier = pipeline.named_steps["model"]
    encoder: FactorEncoder = pipeline.named_steps["encode"]
    model = classifier.estimator_
    # A coefficient of a level under k training cases would say something about those
    # few people: it is left out (the level stays in the model).
    counts = [n for name, _ in encoder.factors for n in encoder.counts_[name]]
    floor = folder.floor
    coefficients = [
        {
            "factor": c.factor,
            "level": c.level,
            "coefficient": round(float(b), 8) if n >= floor.k else f"{floor.marker} cases",
        }
        for c, b, n in zip(encoder.columns_, model.coef_.ravel(), counts, strict=True)
    ]
    doc = {
        "intercept": round(float(model.intercept_[0]), 8),
        "prior_offset": round(float(classifier.offset_), 8),
        "coefficients": coefficients,
    }
    return (folder.write_json("models/logistic_coefficients.json", doc),)
