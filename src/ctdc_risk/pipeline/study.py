"""The factor study: from a cohort and an outcome to a defended table of factors.

``run_study(spec, out_dir)`` is the whole study as one plain call (usable from a notebook):
load -> cohort -> target -> factors -> cross-validated models -> final refits -> lenses (crude
association, adjusted odds ratio, SHAP) -> bootstrap stability -> factor table -> run files.
Nothing is written until every step has succeeded.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ctdc_risk import __version__
from ctdc_risk.cohort import group_masks, select_cohort
from ctdc_risk.data.data_report import DataReport
from ctdc_risk.data.records import record_groups
from ctdc_risk.data.schema import FlagSemantics
from ctdc_risk.data.source import load_data
from ctdc_risk.errors import StudyError
from ctdc_risk.evaluate import CVResult, cross_validate_model, make_splits
from ctdc_risk.factors.contributions import (
    ShapSummary,
    explain_model,
    summarise_contributions,
)
from ctdc_risk.factors.estimate import estimate_factors
from ctdc_risk.factors.interaction import estimate_interactions
from ctdc_risk.factors.interaction_table import INTERACTION_COLUMNS, InteractionTable
from ctdc_risk.factors.sensitivity import SENSITIVITY_COLUMNS, run_sensitivity
from ctdc_risk.factors.stability import StabilityResult
from ctdc_risk.factors.table import (
    COLUMNS,
    CONTEXT_COLUMNS,
    FactorTable,
    LabelRule,
    context_records,
    table_records,
)
from ctdc_risk.features import FLAG_GROUPS, Factor, add_derived_columns, select_study_factors
from ctdc_risk.headline import family_share_by_child_rule
from ctdc_risk.metric_names import METRICS
from ctdc_risk.models import build_model, lead_model, save_models
from ctdc_risk.outputs import write_bytes, write_csv, write_json, write_text
from ctdc_risk.pipeline.progress import ProgressLike, as_progress
from ctdc_risk.pipeline.specs import RunSpec
from ctdc_risk.privacy import SUPPRESSED, check_share, suppress_chain
from ctdc_risk.report.content import ReportInputs
from ctdc_risk.report.render import RenderedReport, render_report
from ctdc_risk.target import Target
from ctdc_risk.targeting.table import COLUMNS as TARGETING_COLUMNS
from ctdc_risk.targeting.table import TargetingTable, build_targeting_table
from ctdc_risk.transport import TransportScore, make_transport_splits, score_transport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StudyResult:
    """Everything a study produced (the in-memory twin of its run folder)."""

    out_dir: Path
    spec: RunSpec
    data_report: DataReport
    cohort_flow: tuple[tuple[str, int], ...]
    target: Target
    factors: tuple[Factor, ...]
    cv: dict[str, CVResult]
    shap: dict[str, ShapSummary]
    subgroups: list[dict[str, Any]]
    stability: StabilityResult
    table: FactorTable
    metrics: dict[str, float]
    primary_model: str
    files: tuple[Path, ...]
    seconds: dict[str, float]
    targeting: TargetingTable | None = None
    """Prevention-targeting profiles (None when ``targeting.enabled`` is false)."""
    transport: dict[str, tuple[TransportScore, TransportScore]] = field(default_factory=dict)
    """Per model: scores with folds grouped by country and on a temporal split."""
    interactions: InteractionTable | None = None
    """Effect modification tests (None when ``explain.modifiers`` is empty)."""


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


def run_study(spec: RunSpec, out_dir: Path, *, progress: ProgressLike = None) -> StudyResult:
    """Run the configured study and write its files into ``out_dir``.

    ``progress`` receives the steps and the units done within each (folds, refits): a
    :class:`~ctdc_risk.pipeline.progress.Progress`, a function of one message, or None (the
    log).
    """
    bar = as_progress(progress)
    say = bar.step
    assert spec.target is not None  # checked when the spec was built
    k = spec.privacy.k
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = round(now - clock, 3)
        clock = now

    say("loading data")
    dataset = load_data(spec.data, seed=spec.seed, k=k)
    frame = add_derived_columns(_in_content_order(dataset.frame))
    lap("load")
    cohort = select_cohort(frame, spec.cohort)
    target = _target(cohort.frame, spec, k)
    flow = (*cohort.flow.steps, *target.flow[1:])
    flow_markers = suppress_chain([n for _, n in flow], k=k)
    for (rule, n), shown in zip(flow, flow_markers, strict=True):
        # the log file is published too (it is in the run folder, so in the MLflow run)
        log.info("rows after %s: %s", rule, shown or n)
    selection = select_study_factors(
        spec.features,
        leakage_reason=spec.target.leakage_reason,
        covariate_phases=spec.target.covariate_phases,
        frame=target.frame,
    )
    factors = selection.covariates
    if not factors:
        raise StudyError(
            f"features {spec.features.name!r} leave no factor for target {spec.target.name!r} "
            "in this data; choose a wider feature set."
        )
    log.info("factors (%d): %s", len(factors), ", ".join(f.name for f in factors))
    for name, reason in selection.dropped:
        log.info("factor %s left out: %s", name, reason)
    records = record_groups(target.frame)
    log.info("%d cases are %d distinct records", len(records), len(np.unique(records)))
    positive_only = dataset.flag_semantics is FlagSemantics.POSITIVE_ONLY
    lap("prepare")

    make = {
        m.name: partial(
            build_model,
            m,
            factors,
            k=k,
            positive_only=positive_only,
            seed=spec.seed,
            reference=spec.explain.reference,
        )
        for m in spec.models
    }
    splits = make_splits(spec.cv, target.frame, target.y, seed=spec.seed, records=records)
    cv: dict[str, CVResult] = {}
    transport: dict[str, tuple[TransportScore, TransportScore]] = {}
    for model_spec in spec.models:
        name = model_spec.name
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
            name, make[name], target.frame, target.y, records,
            n_splits=spec.cv.n_splits, seed=spec.seed, k=k, on_fold=bar.advance,
        )  # fmt: skip
    lap("cross_validation")
    say("refitting on all cases and explaining")
    fitted = {name: build().fit(target.frame, target.y) for name, build in make.items()}
    contributions = {
        name: explain_model(model, target.frame, engine="shap") for name, model in fitted.items()
    }
    primary = lead_model([m.name for m in spec.models])
    contrib = contributions[primary]
    log.info(
        "SHAP (%s): %d rows, %d distinct encoded rows",
        primary,
        len(target.y),
        contrib.n_distinct_rows,
    )
    subgroups = _subgroups(contrib, target.frame, spec, k)
    lap("refit_and_shap")
    bar.step("bootstrap refits", total=spec.stability.n_boot or None)
    refits_done = 0

    def refit_done(done: int, total: int) -> None:
        nonlocal refits_done
        bar.advance(done - refits_done)
        refits_done = done

    estimates = estimate_factors(
        target.frame,
        target.y,
        factors,
        records,
        contributions=contrib,
        make_primary=make[primary],
        primary=primary,
        k=k,
        positive_only=positive_only,
        reference=spec.explain.reference,
        stability=spec.stability,
        rule=LabelRule(
            alpha=spec.explain.alpha,
            multiplicity=spec.explain.multiplicity,
            min_sign_agreement=spec.stability.min_sign_agreement,
        ),
        seed=spec.seed,
        context=selection.context,
        dropped=selection.dropped,
        progress=refit_done,
    )
    reference = dict(estimates.encoder.reference_)
    shap = {
        name: summarise_contributions(c, k=k, reference=reference)
        for name, c in contributions.items()
    }
    stability, table = estimates.stability, estimates.table
    subgroups, subgroup_levels = _subgroup_sizes(
        subgroups, _subgroup_masks(target.frame, spec.explain.subgroups), estimates.encoder,
        target.frame, table,
    )  # fmt: skip
    lap("associations_and_bootstrap")
    say("sensitivity analyses")
    sensitivity = run_sensitivity(
        target.frame, target.y, factors, records, table,
        k=k, positive_only=positive_only, reference=reference,
        leakage_reason=spec.target.leakage_reason,
        outcome_group=next(
            (g for g, cols in FLAG_GROUPS.items() if spec.target.outcome in cols), None
        ),
    )  # fmt: skip
    lap("sensitivity")
    interactions = _interactions(target, estimates.encoder, table, records, spec)
    lap("interactions")
    targeting = None
    if spec.targeting.enabled:
        held_out = make_transport_splits(
            target.frame, target.y, records, n_splits=spec.cv.n_splits, seed=spec.seed, k=k
        )
        bar.step("targeting folds", total=len(splits))
        targeting = build_targeting_table(
            target.frame,
            target.y,
            splits,
            spec=spec.targeting,
            leakage=spec.target.leakage_patterns,
            k=k,
            positive_only=positive_only,
            transport={t.kind: (t.splits, t.note) for t in held_out},
            on_fold=bar.advance,
        )
        lap("targeting")
    metrics = _metrics(dataset.report, flow, target, cv, primary, table, transport, records)
    if flow_markers[len(flow) - len(target.flow)]:
        del metrics["cohort/n_rows"]  # withheld in the cohort flow: it would give a step back
    metrics.update(targeting.metrics() if targeting else {})
    metrics.update(sensitivity.metrics())
    metrics.update(interactions.metrics() if interactions else {})
    say("writing the report")
    inputs = _report_inputs(
        spec, dataset.report, flow, target, cv, subgroups, table, primary, out_dir
    )
    report = render_report(
        replace(
            inputs,
            targeting=targeting,
            transport=_transport_summary(transport[primary]),
            transport_by_model={n: _transport_summary(t) for n, t in transport.items()},
            n_distinct_records=len(np.unique(records)),
            child_rule=spec.data.child_rule,
            sensitivity=sensitivity,
            child_rules=family_share_by_child_rule(frame, k=k)
            if spec.target.outcome == "recruiter_family"
            else (),
            flow_markers=flow_markers,
            interactions=interactions,
        )
    )
    lap("report")
    files = _write(
        out_dir, spec, dataset.report, flow, cv, shap, subgroups, table, metrics, k,
        flow_markers=flow_markers, subgroup_levels=subgroup_levels,
    )  # fmt: skip
    files = (
        *files,
        *_write_targeting(out_dir, targeting, k),
        write_csv(
            out_dir,
            "sensitivity.csv",
            list(SENSITIVITY_COLUMNS),
            [list(r.to_record().values()) for r in sensitivity.rows],
            k=k,
        ),
        *_write_interactions(out_dir, interactions, k),
        *_write_report(out_dir, report),
        *save_models(out_dir, fitted, k),
    )
    lap("write")
    log.info("study finished: %s", ", ".join(f"{n} {s:.1f}s" for n, s in seconds.items()))
    return StudyResult(
        out_dir, spec, dataset.report, flow, target, factors, cv, shap, subgroups, stability,
        table, metrics, primary, files, seconds, targeting, transport, interactions,
    )  # fmt: skip


def _interactions(
    target: Target, encoder: Any, table: FactorTable, records: np.ndarray, spec: RunSpec
) -> InteractionTable | None:
    """Effect modification by the configured modifiers (same alpha and multiplicity)."""
    if not spec.explain.modifiers:
        return None
    return estimate_interactions(
        target.frame,
        target.y,
        encoder,
        table,
        records,
        modifiers=spec.explain.modifiers,
        levels=spec.explain.interaction_levels,
        k=spec.privacy.k,
        rule=table.rule,
    )


def _transport_summary(scores: tuple[TransportScore, TransportScore]) -> dict[str, Any]:
    return {s.kind: {"roc_auc": s.roc_auc, "ece": s.ece, "note": s.note} for s in scores}


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

    assert spec.target is not None
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


def _subgroup_sizes(
    subgroups: list[dict[str, Any]],
    masks: dict[str, np.ndarray],
    encoder: Any,
    frame: pd.DataFrame,
    table: FactorTable,
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Subgroup sizes that tell nothing new, and the factor levels each one adds up.

    A subgroup's size is published only when the subgroup is exactly a set of levels of one
    factor whose sizes the factor table publishes (boys in a cohort of children are the male
    level): then it repeats published counts. Any other size (citizens of a region part of
    whom sit in a pooled level, say) would be a new marginal that, subtracted from the factor
    table, can give a small group back; it is shown as ``"suppressed"``.
    """
    onehot = encoder.transform(frame).tocsc()
    shown = {(r.factor, r.level) for r in table.rows if r.n_with is not None}
    relations: dict[str, dict[str, Any]] = {}
    for name, mask in masks.items():
        for j_factor in dict.fromkeys(c.factor for c in encoder.columns_):
            cols = [j for j, c in enumerate(encoder.columns_) if c.factor == j_factor]
            inside = np.asarray(onehot[mask][:, cols].sum(axis=0)).ravel()
            whole = np.asarray(onehot[:, cols].sum(axis=0)).ravel()
            if not np.all((inside == 0) | (inside == whole)):
                continue
            levels = [encoder.columns_[j].level for j, m in zip(cols, inside, strict=True) if m]
            if all((j_factor, lv) in shown for lv in levels):
                relations[name] = {"factor": j_factor, "levels": levels}
                break
    rows = [r if r["subgroup"] in relations else {**r, "n": SUPPRESSED} for r in subgroups]
    return rows, {r["subgroup"]: relations[r["subgroup"]] for r in rows if r["n"] != SUPPRESSED}


def _subgroups(contrib: Any, frame: pd.DataFrame, spec: RunSpec, k: int) -> list[dict[str, Any]]:
    rows = []
    for name, mask in _subgroup_masks(frame, spec.explain.subgroups).items():
        n = int(mask.sum())
        if n < k:
            continue  # never a summary of fewer than k cases
        summary = summarise_contributions(contrib, k=k, rows=np.flatnonzero(mask))
        for factor, importance in summary.importance.items():
            rows.append(
                {"subgroup": name, "n": n, "factor": factor, "importance": round(importance, 6)}
            )
    return rows


def _metrics(
    report: DataReport,
    flow: tuple[tuple[str, int], ...],
    target: Target,
    cv: dict[str, CVResult],
    primary: str,
    table: FactorTable,
    transport: dict[str, tuple[TransportScore, TransportScore]],
    records: np.ndarray,
) -> dict[str, float]:
    m: dict[str, float] = {
        "data/n_rows": float(report.rows_out),
        "cohort/n_rows": float(flow[len(flow) - len(target.flow)][1]),
        "target/n_rows": float(len(target.y)),
        "target/n_distinct_records": float(len(np.unique(records))),
        "target/n_positive": float(target.n_positive),
        "target/prevalence": round(target.prevalence, 6),
    }
    for name, scores in transport.items():
        for score in scores:
            for key, value in (("roc_auc", score.roc_auc), ("ece", score.ece)):
                if value is not None:
                    m[f"transport/{score.kind}/{name}/{key}"] = round(float(value), 6)
                    if name == primary:
                        m[f"transport/{score.kind}/{key}"] = round(float(value), 6)
    for name, result in cv.items():
        for key, value in result.summary().items():
            m[f"cv/{name}/{key}"] = round(float(value), 6)
    for key, value in cv[primary].summary().items():
        m[f"cv/{key}"] = round(float(value), 6)
    for key, value in cv[primary].baseline_summary().items():
        m[f"baseline/{key}"] = round(float(value), 6)
    for label in ("risk", "protective", "unclear"):
        m[f"factors/{label}_levels"] = float(len(table.labelled(label)))
    return m


def _write(
    out_dir: Path,
    spec: RunSpec,
    report: DataReport,
    flow: tuple[tuple[str, int], ...],
    cv: dict[str, CVResult],
    shap: dict[str, ShapSummary],
    subgroups: list[dict[str, Any]],
    table: FactorTable,
    metrics: dict[str, float],
    k: int,
    *,
    flow_markers: tuple[str, ...],
    subgroup_levels: dict[str, dict[str, Any]],
) -> tuple[Path, ...]:
    marker = f"<{k}"
    out_dir.mkdir(parents=True, exist_ok=True)
    fold_rows = []
    for name, result in cv.items():
        # A test fold with fewer than k cases with or without the outcome: the baseline's
        # average precision is the fold's prevalence, so its scores would give that small
        # count away, and the mean over folds gives a single withheld fold back. Withhold
        # every fold's scores then (the means stay).
        short = any(
            min(f.prevalence_test * f.n_test, (1 - f.prevalence_test) * f.n_test) < k - 0.5
            for f in result.folds
        )
        for kind, folds in (("model", result.folds), ("baseline", result.baseline_folds)):
            for i, fold in enumerate(folds):
                scores = [SUPPRESSED if short else _num(fold.score(m)) for m in METRICS]
                fold_rows.append([name, kind, i, *scores])
    calibration = [
        [name, b.lower, b.upper, b.n if b.n is not None else b.marker or marker,
         _num(b.mean_predicted), _num(b.observed_rate)]
        for name, result in cv.items()
        for b in result.reliability
    ]  # fmt: skip
    importance = [
        [name, factor, round(value, 6)]
        for name, summary in shap.items()
        for factor, value in sorted(summary.importance.items(), key=lambda kv: -kv[1])
    ]
    return (
        write_json(out_dir, "data_report.json", report.published(k), k=k),
        write_csv(
            out_dir,
            "cohort_flow.csv",
            ["step", "rule", "n_rows"],
            [[i, rule, flow_markers[i] or n] for i, (rule, n) in enumerate(flow)],
            k=k,
        ),
        write_json(out_dir, "metrics.json", metrics, k=k),
        write_csv(out_dir, "cv_folds.csv", ["model", "kind", "fold", *METRICS], fold_rows, k=k),
        write_csv(
            out_dir,
            "calibration.csv",
            ["model", "bin_lower", "bin_upper", "n", "mean_predicted", "observed_rate"],
            calibration,
            k=k,
        ),
        write_csv(
            out_dir, "shap_importance.csv", ["model", "factor", "mean_abs_shap"], importance, k=k
        ),
        write_csv(
            out_dir,
            "shap_subgroups.csv",
            ["subgroup", "n", "factor", "mean_abs_shap"],
            [[r["subgroup"], r["n"], r["factor"], r["importance"]] for r in subgroups],
            k=k,
        ),
        write_csv(out_dir, "factors.csv", list(COLUMNS), table_records(table), k=k),
        write_csv(out_dir, "context.csv", list(CONTEXT_COLUMNS), context_records(table), k=k),
        write_json(
            out_dir,
            "factors.json",
            {
                "target": spec.target.name if spec.target else None,
                "cohort": spec.cohort.name,
                "privacy_k": k,
                "n_boot": table.n_boot,
                "label_rule": LABEL_RULE_TEXT.format(
                    alpha=table.rule.alpha,
                    multiplicity=table.rule.multiplicity,
                    agreement=table.rule.min_sign_agreement,
                ),
                "reference_rule": REFERENCE_RULE_TEXT,
                "cv": {"kind": spec.cv.kind, "folds": spec.cv.n_splits},
                "subgroup_levels": subgroup_levels,
                "factors": [r.to_record() for r in table.rows],
                "context": [r.to_record() for r in table.context],
                "dropped_factors": [{"factor": f, "reason": why} for f, why in table.dropped],
            },
            k=k,
        ),
    )


LABEL_RULE_TEXT = (
    "risk/protective: a case-describing level of a covariate factor (before or at the outcome's "
    "phase), not suppressed, whose factor's reference has >= k cases with and without the "
    "outcome; Firth adjusted OR 95% CI (larger of model-based and record-clustered SE) excludes "
    "1; {multiplicity}-adjusted q < {alpha}; SHAP direction against the same reference agrees; "
    "OR on the same side of 1 in >= {agreement:.0%} of whole-pipeline bootstrap refits "
    "(identical records resampled together)"
)
REFERENCE_RULE_TEXT = (
    "explain.reference when set; else 'no' ('not recorded') for a yes/no item when it has >= k "
    "cases with and without the outcome; else the largest known level that has; levels are "
    "never merged into the reference"
)


def _report_inputs(
    spec: RunSpec,
    report: DataReport,
    flow: tuple[tuple[str, int], ...],
    target: Target,
    cv: dict[str, CVResult],
    subgroups: list[dict[str, Any]],
    table: FactorTable,
    primary: str,
    out_dir: Path,
) -> ReportInputs:
    assert spec.target is not None
    k = spec.privacy.k
    reference: dict[str, tuple[int, int] | None] = {}
    if spec.target.outcome == "recruiter_family":
        child = target.frame["is_child"]
        for group, mask in (
            ("children", child.fillna(False).to_numpy(dtype=bool)),
            ("adults", (~child.astype("boolean")).fillna(False).to_numpy(dtype=bool)),
        ):
            n, yes = int(mask.sum()), int(target.y[mask].sum())
            reference[group] = (n, yes) if n == 0 or check_share(yes, n, k).show_share else None
    settings = {
        "seed": spec.seed,
        "cohort": spec.cohort.name,
        "target": spec.target.name,
        "features": spec.features.name,
        "models": [m.name for m in spec.models],
        "cv": f"{spec.cv.kind} x{spec.cv.n_splits} (identical records kept together)",
        "bootstrap_refits": spec.stability.n_boot,
        "privacy_k": k,
    }
    return ReportInputs(
        title=f"What goes with being {spec.target.outcome_words}: {spec.cohort.name}",
        outcome_words=spec.target.outcome_words,
        target_description=spec.target.description,
        cohort_name=spec.cohort.name,
        cohort_description=spec.cohort.description,
        n_cases=len(target.y),
        n_positive=target.n_positive,
        k=k,
        data=report,
        factor_rows=table.rows,
        context_rows=table.context,
        dropped=table.dropped,
        alpha=table.rule.alpha,
        multiplicity=table.rule.multiplicity,
        cv={name: r.summary() for name, r in cv.items()},
        baseline=cv[primary].baseline_summary(),
        reliability={name: r.reliability for name, r in cv.items()},
        subgroups=tuple(subgroups),
        flow=flow,
        primary_model=primary,
        n_boot=table.n_boot,
        min_sign_agreement=table.min_sign_agreement,
        n_splits=len(next(iter(cv.values())).folds),
        settings=settings,
        version=__version__,
        created=datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        run_id=out_dir.name,
        eligibility=" and ".join(rule.name for rule in spec.target.eligible),
        reference_shares=reference,
    )


def _write_targeting(out_dir: Path, targeting: TargetingTable | None, k: int) -> tuple[Path, ...]:
    if targeting is None:
        return ()
    return (
        write_csv(out_dir, "targeting.csv", list(TARGETING_COLUMNS), targeting.records(), k=k),
        write_json(out_dir, "targeting.json", targeting.document(), k=k),
    )


def _write_interactions(
    out_dir: Path, interactions: InteractionTable | None, k: int
) -> tuple[Path, ...]:
    if interactions is None:
        return ()
    return (
        write_csv(
            out_dir, "interactions.csv", list(INTERACTION_COLUMNS), interactions.records(), k=k
        ),
        write_json(out_dir, "interactions.json", interactions.document(), k=k),
    )


def _write_report(out_dir: Path, report: RenderedReport) -> tuple[Path, ...]:
    figures = tuple(
        write_bytes(out_dir, f"figures/{name}", data) for name, data in report.figures.items()
    )
    return (
        write_text(out_dir, "report.html", report.html),
        write_text(out_dir, "report.md", report.markdown),
        *figures,
    )


def _num(x: float | None) -> float | str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return ""
    return round(float(x), 6)
