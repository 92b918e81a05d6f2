"""The factor study: from a cohort and an outcome to a defended table of factors.

``run_study(spec, out_dir)`` is the whole study as one plain call (usable from a notebook):
load -> cohort -> target -> factors -> cross-validated models -> final refits -> lenses (crude
association, adjusted odds ratio, SHAP) -> bootstrap stability -> factor table -> run files.
Each step is a stage call that fills the typed :class:`StudyResult`; the report inputs
(:mod:`~ctdc_risk.pipeline.report_inputs`) and the run files
(:mod:`~ctdc_risk.pipeline.run_files`) are built from it. Nothing is written until every step
has succeeded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from ctdc_risk.cohort import group_masks
from ctdc_risk.evaluate import CVResult, Split, cross_validate_model, make_splits
from ctdc_risk.factors.contributions import Contributions, explain_model, summarise_contributions
from ctdc_risk.factors.estimate import FactorEstimates, estimate_factors
from ctdc_risk.factors.factor_rows import FactorTable
from ctdc_risk.factors.interaction import estimate_interactions
from ctdc_risk.factors.interaction_table import InteractionTable
from ctdc_risk.factors.labels import LabelRule
from ctdc_risk.factors.sensitivity import SensitivityResult, run_sensitivity
from ctdc_risk.factors.subgroups import subgroup_importance, withhold_subgroup_sizes
from ctdc_risk.features import (
    FLAG_GROUPS,
)
from ctdc_risk.headline import family_share_by_child_rule
from ctdc_risk.models import build_model, lead_model
from ctdc_risk.outputs import RunFolder
from ctdc_risk.pipeline.cases import StudyCases, select_cases
from ctdc_risk.pipeline.metrics import study_metrics
from ctdc_risk.pipeline.progress import Progress, ProgressLike, as_progress
from ctdc_risk.pipeline.report_inputs import build_report_inputs
from ctdc_risk.pipeline.result import StudyResult
from ctdc_risk.pipeline.run_files import write_run_files
from ctdc_risk.pipeline.specs import RunSpec
from ctdc_risk.report.render import render_report
from ctdc_risk.targeting.results import TargetingTable
from ctdc_risk.targeting.table import build_targeting_table
from ctdc_risk.transport import TransportScore, make_transport_splits, score_transport

__all__ = ["StudyResult", "run_study"]

log = logging.getLogger(__name__)


def _subgroup_masks(frame: pd.DataFrame, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    masks: dict[str, np.ndarray] = {}
    if "boys_girls" in names:
        masks.update(group_masks(frame, ("boys", "girls")))
    if "age_0_8_9_17" in names:
        masks.update(group_masks(frame, ("aged 0-8", "aged 9-17")))
    if "citizenship_region" in names:
        region = frame["citizenship_region"].astype(object).to_numpy()
        for name in sorted({r for r in region if isinstance(r, str)}):
            masks[f"citizens of {name}"] = region == name
    return masks


@dataclass(frozen=True)
class _Scores:
    """Each model's builder, the study's folds and the cross-validated scores."""

    make: Mapping[str, Callable[[], Pipeline]]
    splits: list[Split]
    cv: dict[str, CVResult]
    transport: dict[str, tuple[TransportScore, TransportScore]]


class _Laps:
    """Seconds each step took, by name (``StudyResult.seconds``)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._clock = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self._clock, 3)
        self._clock = now


def run_study(spec: RunSpec, out_dir: Path, *, progress: ProgressLike = None) -> StudyResult:
    """Run the configured study and write its files into ``out_dir``.

    ``progress`` receives the steps and the units done within each (folds, refits): a
    :class:`~ctdc_risk.pipeline.progress.Progress`, a function of one message, or None (the
    log).
    """
    bar = as_progress(progress)
    floor = spec.privacy.floor
    lap = _Laps()
    bar.step("loading data")
    cases = select_cases(spec, floor, lap)
    scores = _cross_validate(spec, cases, bar)
    lap("cross_validation")
    bar.step("refitting on all cases and explaining")
    fitted, contributions, primary = _refit_and_explain(spec, cases, scores)
    masks = _subgroup_masks(cases.target.frame, spec.explain.subgroups)
    subgroup_rows = subgroup_importance(contributions[primary], masks, floor)
    lap("refit_and_shap")
    estimates = _estimate(spec, cases, scores, contributions[primary], primary, bar)
    reference = dict(estimates.encoder.reference_)
    table = estimates.table
    subgroups = withhold_subgroup_sizes(
        subgroup_rows, masks, estimates.encoder, cases.target.frame, table
    )
    lap("associations_and_bootstrap")
    bar.step("sensitivity analyses")
    sensitivity = _sensitivity(spec, cases, table, reference)
    lap("sensitivity")
    interactions = _interactions(cases, estimates, spec)
    lap("interactions")
    targeting = _targeting(spec, cases, scores.splits, bar)
    if targeting is not None:
        lap("targeting")
    result = StudyResult(
        out_dir=out_dir,
        spec=spec,
        data_report=cases.dataset.report,
        cohort_flow=cases.flow,
        target=cases.target,
        factors=cases.selection.covariates,
        cv=scores.cv,
        shap={
            name: summarise_contributions(c, k=floor.k, reference=reference)
            for name, c in contributions.items()
        },
        subgroups=subgroups,
        stability=estimates.stability,
        table=table,
        metrics={},
        primary_model=primary,
        seconds=lap.seconds,
        targeting=targeting,
        transport=scores.transport,
        interactions=interactions,
        sensitivity=sensitivity,
        n_distinct_records=len(np.unique(cases.records)),
    )
    result = replace(result, metrics=study_metrics(result))
    bar.step("writing the report")
    child_rules = (
        family_share_by_child_rule(cases.frame, k=floor.k)
        if spec.target.outcome == "recruiter_family"
        else ()
    )
    report = render_report(build_report_inputs(result, child_rules=child_rules))
    lap("report")
    files = write_run_files(RunFolder(out_dir, floor), result, fitted=fitted, report=report)
    lap("write")
    log.info("study finished: %s", ", ".join(f"{n} {s:.1f}s" for n, s in lap.seconds.items()))
    return replace(result, files=files, seconds=lap.seconds)


def _refit_and_explain(
    spec: RunSpec, cases: StudyCases, scores: _Scores
) -> tuple[dict[str, Pipeline], dict[str, Contributions], str]:
    """Every model refitted on all the cases, its exact SHAP values, and the primary model
    (LightGBM when configured, else the first)."""
    frame, y = cases.target.frame, cases.target.y
    fitted = {name: build().fit(frame, y) for name, build in scores.make.items()}
    contributions = {
        name: explain_model(model, frame, engine="shap") for name, model in fitted.items()
    }
    primary = lead_model([m.name for m in spec.models])
    log.info(
        "SHAP (%s): %d rows, %d distinct encoded rows",
        primary,
        len(y),
        contributions[primary].n_distinct_rows,
    )
    return fitted, contributions, primary


def _cross_validate(spec: RunSpec, cases: StudyCases, bar: Progress) -> _Scores:
    """Each model scored on the study's folds, then with folds grouped by country and on a
    temporal split."""
    k, target = spec.privacy.k, cases.target
    make = {
        m.name: partial(
            build_model,
            m,
            cases.selection.covariates,
            k=k,
            positive_only=cases.positive_only,
            seed=spec.seed,
            reference=spec.explain.reference,
        )
        for m in spec.models
    }
    splits = make_splits(spec.cv, target.frame, target.y, seed=spec.seed, records=cases.records)
    cv: dict[str, CVResult] = {}
    transport: dict[str, tuple[TransportScore, TransportScore]] = {}
    for name in make:
        # Folds: the study's own, then up to n_splits grouped by country and one temporal split.
        bar.step(
            f"cross-validation: {name} (then by country, by year)",
            total=len(splits) + spec.cv.n_splits + 1,
        )
        cv[name] = cross_validate_model(
            name, make[name], target.frame, target.y, splits, k=k, n_bins=spec.cv.n_bins,
            on_fold=bar.advance,
        )  # fmt: skip
        transport[name] = score_transport(
            name, make[name], target.frame, target.y, cases.records,
            n_splits=spec.cv.n_splits, seed=spec.seed, k=k, on_fold=bar.advance,
        )  # fmt: skip
    return _Scores(make, splits, cv, transport)


def _estimate(
    spec: RunSpec,
    cases: StudyCases,
    scores: _Scores,
    contrib: Contributions,
    primary: str,
    bar: Progress,
) -> FactorEstimates:
    """Crude and adjusted associations, SHAP directions and bootstrap stability: the table."""
    bar.step("bootstrap refits", total=spec.stability.n_boot or None)
    refits_done = 0

    def refit_done(done: int, total: int) -> None:
        nonlocal refits_done
        bar.advance(done - refits_done)
        refits_done = done

    return estimate_factors(
        cases.target.frame,
        cases.target.y,
        cases.selection.covariates,
        cases.records,
        contributions=contrib,
        make_primary=scores.make[primary],
        primary=primary,
        k=spec.privacy.k,
        positive_only=cases.positive_only,
        reference=spec.explain.reference,
        stability=spec.stability,
        rule=LabelRule(
            alpha=spec.explain.alpha,
            multiplicity=spec.explain.multiplicity,
            min_sign_agreement=spec.stability.min_sign_agreement,
        ),
        seed=spec.seed,
        context=cases.selection.context,
        dropped=cases.selection.dropped,
        progress=refit_done,
    )


def _sensitivity(
    spec: RunSpec, cases: StudyCases, table: FactorTable, reference: dict[str, str]
) -> SensitivityResult:
    outcome = spec.target.outcome
    return run_sensitivity(
        cases.target.frame, cases.target.y, cases.selection.covariates, cases.records, table,
        k=spec.privacy.k, positive_only=cases.positive_only, reference=reference,
        leakage_reason=spec.target.leakage_reason,
        outcome_group=next((g for g, cols in FLAG_GROUPS.items() if outcome in cols), None),
    )  # fmt: skip


def _interactions(
    cases: StudyCases, estimates: FactorEstimates, spec: RunSpec
) -> InteractionTable | None:
    """Effect modification by the configured modifiers (same alpha and multiplicity)."""
    if not spec.explain.modifiers:
        return None
    return estimate_interactions(
        cases.target.frame,
        cases.target.y,
        estimates.encoder,
        estimates.table,
        cases.records,
        modifiers=spec.explain.modifiers,
        levels=spec.explain.interaction_levels,
        k=spec.privacy.k,
        rule=estimates.table.rule,
    )


def _targeting(
    spec: RunSpec, cases: StudyCases, splits: list[Split], bar: Progress
) -> TargetingTable | None:
    """Prevention-targeting profiles, cross-fitted over the study's folds and transport splits."""
    if not spec.targeting.enabled:
        return None
    k, target = spec.privacy.k, cases.target
    held_out = make_transport_splits(
        target.frame, target.y, cases.records, n_splits=spec.cv.n_splits, seed=spec.seed, k=k
    )
    bar.step("targeting folds", total=len(splits))
    return build_targeting_table(
        target.frame,
        target.y,
        splits,
        spec=spec.targeting,
        leakage=spec.target.leakage_patterns,
        k=k,
        positive_only=cases.positive_only,
        transport={t.kind: (t.splits, t.note) for t in held_out},
        on_fold=bar.advance,
    )
