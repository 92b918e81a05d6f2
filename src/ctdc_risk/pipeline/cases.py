"""The study's cases: load, order by content, cohort, outcome known, factors to use."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ctdc_risk.cohort import select_cohort
from ctdc_risk.data.load import Dataset
from ctdc_risk.data.records import record_groups
from ctdc_risk.data.schema import FlagSemantics
from ctdc_risk.data.source import load_data
from ctdc_risk.errors import StudyError
from ctdc_risk.features import FactorSelection, add_derived_columns, select_study_factors
from ctdc_risk.pipeline.result import CohortFlow
from ctdc_risk.pipeline.specs import RunSpec
from ctdc_risk.privacy import Floor
from ctdc_risk.target import Target

# The study's log lines keep the logger they always had (the log file is a run output).
log = logging.getLogger("ctdc_risk.pipeline.study")


@dataclass(frozen=True)
class StudyCases:
    """The study's cases, their outcome and factors: what every later stage reads."""

    dataset: Dataset
    frame: pd.DataFrame
    """Every loaded record with its derived columns (the headline under every child rule)."""
    target: Target
    flow: CohortFlow
    selection: FactorSelection
    records: np.ndarray
    """Identical-record group of each case (folds, intervals and bootstrap keep them together)."""

    @property
    def positive_only(self) -> bool:
        return self.dataset.flag_semantics is FlagSemantics.POSITIVE_ONLY


def select_cases(spec: RunSpec, floor: Floor, lap: Callable[[str], None]) -> StudyCases:
    """Load the data, select the cohort and the cases with the outcome known, and the
    factors the study may use."""
    dataset = load_data(spec.data, seed=spec.seed, k=floor.k)
    frame = add_derived_columns(_in_content_order(dataset.frame))
    lap("load")
    cohort = select_cohort(frame, spec.cohort)
    target = _target(cohort.frame, spec, floor.k)
    flow = CohortFlow.published(
        (*cohort.flow.steps, *target.flow[1:]), floor, cohort_step=len(cohort.flow.steps) - 1
    )
    for rule, shown in flow.shown():
        # the log file is published too (it is in the run folder, so in the MLflow run)
        log.info("rows after %s: %s", rule, shown)
    selection = select_study_factors(
        spec.features,
        leakage_reason=spec.target.leakage_reason,
        covariate_phases=spec.target.covariate_phases,
        frame=target.frame,
    )
    if not selection.covariates:
        raise StudyError(
            f"features {spec.features.name!r} leave no factor for target {spec.target.name!r} "
            "in this data; choose a wider feature set."
        )
    log.info(
        "factors (%d): %s",
        len(selection.covariates),
        ", ".join(f.name for f in selection.covariates),
    )
    for name, reason in selection.dropped:
        log.info("factor %s left out: %s", name, reason)
    records = record_groups(target.frame)
    log.info("%d cases are %d distinct records", len(records), len(np.unique(records)))
    cases = StudyCases(dataset, frame, target, flow, selection, records)
    lap("prepare")
    return cases


def _in_content_order(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows ordered by a hash of their content, whatever their order in the file.

    Folds, bootstrap samples and the models' floating-point sums all follow row positions, so
    without this the same records in another order would give another study. Identical rows are
    interchangeable; the hash reads category values, not codes, so it ignores category order.
    """
    key = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return frame.iloc[np.argsort(key, kind="stable")].reset_index(drop=True)


def _target(frame: pd.DataFrame, spec: RunSpec, k: int) -> Target:
    from ctdc_risk.target import make_target

    if len(frame) == 0:
        raise StudyError(
            f"cohort {spec.cohort.name!r} selects no rows in this data; check its rules."
        )
    if len(frame) < k:
        raise StudyError(
            f"cohort {spec.cohort.name!r} selects fewer than privacy.k = {k} cases in this "
            "data; every figure of a study of so few people would describe them. Widen the "
            "cohort's rules."
        )
    target = make_target(frame, spec.target, k=k)
    if len(target.y) < k:
        raise StudyError(
            f"target {spec.target.name!r} leaves fewer than privacy.k = {k} eligible cases in "
            f"cohort {spec.cohort.name!r}; widen the cohort or choose another target."
        )
    return target
