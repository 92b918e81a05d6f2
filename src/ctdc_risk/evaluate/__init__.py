"""Cross-validation: folds, per-fold scores, a prevalence-only baseline and a reliability curve.

Three ways to split the cohort answer three questions:

``stratified``
    k folds with the outcome share kept in every fold and every set of identical records on one
    side (a copy of a test case in the training rows would flatter the score): how well does
    the model rank and calibrate cases like the ones it was trained on?
``grouped``
    k folds where all cases of one group (by default the citizenship country) fall on the same
    side: does the model carry over to countries it has not seen? Missing group values form one
    group, ``"unknown"``.
``temporal``
    one split, training on cases registered up to a year and testing on later ones: does it carry
    over to the future? Cases with an unknown registration year are left out of evaluation.

Every fold is scored with ROC AUC, average precision, Brier score, log loss and expected
calibration error (ECE), next to a baseline that predicts the training-fold prevalence for every
test case, so a score is always read against what knowing nothing about the case would give.
The reliability curve of the pooled out-of-fold predictions obeys the privacy floor: a bin of
fewer than ``k`` cases is suppressed, not dropped.
"""

from ctdc_risk.evaluate.crossval import CVResult, FoldScores, cross_validate_model
from ctdc_risk.evaluate.scores import ReliabilityBin, fold_metrics, reliability_curve
from ctdc_risk.evaluate.splits import (
    KINDS,
    UNKNOWN_GROUP,
    YEAR_COLUMN,
    CVSpec,
    Split,
    make_splits,
)

__all__ = [
    "KINDS",
    "UNKNOWN_GROUP",
    "YEAR_COLUMN",
    "CVResult",
    "CVSpec",
    "FoldScores",
    "ReliabilityBin",
    "Split",
    "cross_validate_model",
    "fold_metrics",
    "make_splits",
    "reliability_curve",
]
