"""``lightgbm``: integer-coded factors -> shallow, deterministic gradient-boosted trees.

Trees split on factors as categories (optional monotone constraints on yes/no factors). No leaf
of a fitted model holds fewer than ``k`` training records (the privacy floor):
``min_child_samples`` is raised to at least ``k`` and
:class:`~ctdc_risk.models.classifiers.LeafFloorClassifier` checks the real counts. LightGBM is
imported only when a LightGBM model is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sklearn.pipeline import Pipeline

from ctdc_risk.encoding import FactorEncoder
from ctdc_risk.errors import ConfigError
from ctdc_risk.models.classifiers import LeafFloorClassifier, WeightedClassifier
from ctdc_risk.models.setup import ModelSetup
from ctdc_risk.outputs import RunFolder
from ctdc_risk.validate import Constraints, Interval, MappingOf, Options

DEFAULTS: dict[str, Any] = {
    "n_estimators": 200,
    "learning_rate": 0.05,
    "max_depth": 3,
    "num_leaves": 8,
    "min_child_samples": 20,
    "reg_lambda": 1.0,
    "class_weight": "balanced",
    "monotone": {},
}


SETTINGS: Constraints = {
    **dict.fromkeys(
        ("n_estimators", "max_depth", "num_leaves", "min_child_samples"), Interval(int, 1, None)
    ),
    "learning_rate": Interval(float, 0, None, closed="neither"),
    "reg_lambda": Interval(float, 0, None),
    "class_weight": Options(("balanced", None)),
    "monotone": MappingOf(values=Options((-1, 1)), what="a mapping of yes/no factors to -1 or 1"),
}
"""What each setting may be; which factors ``monotone`` may name is checked when the model is
built (it depends on the study's factors)."""


def build(p: dict[str, Any], setup: ModelSetup) -> Pipeline:
    """Factor encoder (integer codes) then the weighted, leaf-floored LightGBM classifier."""
    import lightgbm as lgb

    factor_kinds = setup.factor_kinds
    k = setup.k
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
        positive_only=setup.positive_only,
        output="ordinal",
        reference=setup.reference,
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
        random_state=setup.seed,
        verbose=-1,
    )
    categorical = [i for i, n in enumerate(names) if n not in monotone]
    classifier = WeightedClassifier(
        LeafFloorClassifier(booster, min_leaf=k),
        p["class_weight"],
        fit_params={"categorical_feature": categorical},
    )
    return Pipeline([("encode", encoder), ("model", classifier)])


def save(folder: RunFolder, pipeline: Pipeline) -> tuple[Path, ...]:
    """LightGBM's own text model (no code runs when it is loaded) and the encoder's levels."""
    classifier: WeightedClassifier = pipeline.named_steps["model"]
    encoder: FactorEncoder = pipeline.named_steps["encode"]
    text = classifier.estimator_.booster_.model_to_string()
    levels = {f: list(lv) for f, lv in encoder.levels_.items()}
    return (
        folder.write_text("models/lightgbm_model.txt", text),
        folder.write_json("models/lightgbm_levels.json", {"levels": levels}),
    )
