"""Names of the scores a study records: one list each, read by every module that shows them.

``METRICS`` are the scores of one cross-validation fold; a study records their mean and
standard deviation as ``cv/{metric}_mean`` and ``cv/{metric}_std`` (the baseline's as
``baseline/...``). A sweep summary and a comparison of runs pick the study metrics below, so
the two tables and the study that writes the metrics cannot drift apart.
"""

from __future__ import annotations

METRICS = ("roc_auc", "average_precision", "brier", "log_loss", "ece")

SWEEP_METRICS = (
    "cv/roc_auc_mean",
    "cv/roc_auc_std",
    "baseline/roc_auc_mean",
    "target/n_rows",
    "target/prevalence",
)
"""The study metrics each job of a sweep reports (``sweep_summary.csv`` columns)."""

COMPARED_METRICS = (
    *SWEEP_METRICS[:2],
    "cv/average_precision_mean",
    "cv/brier_mean",
    "cv/ece_mean",
    *SWEEP_METRICS[2:],
    "targeting/top3_coverage",
    "targeting/top3_share_of_cases",
    "targeting/top3_lift",
    "targeting/top3_lift_lowest",
)
"""The study metrics a comparison of runs lines up (the sweep's and a few more), in order."""
