"""The report's inputs, built from a study's typed result (aggregated, privacy-checked)."""

from __future__ import annotations

from datetime import UTC, datetime

from ctdc_risk import __version__
from ctdc_risk.headline import ChildRuleShare
from ctdc_risk.pipeline.result import StudyResult
from ctdc_risk.report.inputs import (
    CaseCounts,
    FactorFindings,
    ModelScores,
    ReportInputs,
    RunInfo,
    StudyQuestion,
    TransportSummary,
)
from ctdc_risk.transport import TransportScore


def build_report_inputs(
    result: StudyResult, *, child_rules: tuple[ChildRuleShare, ...] = ()
) -> ReportInputs:
    """What the report says about ``result``; ``child_rules``: the family-recruitment
    headline under every child rule (computed on every loaded record, not only the cohort)."""
    spec, table, floor = result.spec, result.table, result.floor
    primary = result.primary_model
    return ReportInputs(
        question=StudyQuestion(
            title=f"What goes with being {spec.target.outcome_words}: {spec.cohort.name}",
            outcome_words=spec.target.outcome_words,
            target_description=spec.target.description,
            cohort_name=spec.cohort.name,
            cohort_description=spec.cohort.description,
            eligibility=" and ".join(rule.name for rule in spec.target.eligible),
            child_rule=spec.data.child_rule,
        ),
        cases=CaseCounts(
            data=result.data_report,
            n_cases=len(result.target.y),
            n_positive=result.target.n_positive,
            flow=result.cohort_flow.steps,
            flow_markers=result.cohort_flow.markers,
            n_distinct_records=result.n_distinct_records,
            reference_shares=_reference_shares(result),
            child_rules=child_rules,
        ),
        models=ModelScores(
            primary_model=primary,
            cv={name: r.summary() for name, r in result.cv.items()},
            baseline=result.cv[primary].baseline_summary(),
            reliability={name: r.reliability for name, r in result.cv.items()},
            n_splits=len(next(iter(result.cv.values())).folds),
            transport=_transport_summary(result.transport[primary]),
            transport_by_model={n: _transport_summary(t) for n, t in result.transport.items()},
        ),
        factors=FactorFindings(
            rows=table.rows,
            n_boot=table.n_boot,
            min_sign_agreement=table.min_sign_agreement,
            alpha=table.rule.alpha,
            multiplicity=table.rule.multiplicity,
            context_rows=table.context,
            dropped=table.dropped,
            subgroups=result.subgroups.rows,
            sensitivity=result.sensitivity,
            interactions=result.interactions,
        ),
        run=RunInfo(
            settings={
                "seed": spec.seed,
                "cohort": spec.cohort.name,
                "target": spec.target.name,
                "features": spec.features.name,
                "models": [m.name for m in spec.models],
                "cv": f"{spec.cv.kind} x{spec.cv.n_splits} (identical records kept together)",
                "bootstrap_refits": spec.stability.n_boot,
                "privacy_k": floor.k,
            },
            version=__version__,
            created=datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
            run_id=result.out_dir.name,
        ),
        floor=floor,
        targeting=result.targeting,
    )


def _reference_shares(result: StudyResult) -> dict[str, tuple[int, int] | None]:
    """Children's and adults' (cases, family-recruited) beside the published figures, when
    the outcome is family recruitment; None for a group whose share may not be shown."""
    if result.spec.target.outcome != "recruiter_family":
        return {}
    target, floor = result.target, result.floor
    child = target.frame["is_child"]
    shares: dict[str, tuple[int, int] | None] = {}
    for group, mask in (
        ("children", child.fillna(False).to_numpy(dtype=bool)),
        ("adults", (~child.astype("boolean")).fillna(False).to_numpy(dtype=bool)),
    ):
        n, yes = int(mask.sum()), int(target.y[mask].sum())
        shares[group] = (n, yes) if n == 0 or floor.share(yes, n).show_share else None
    return shares


def _transport_summary(
    scores: tuple[TransportScore, TransportScore],
) -> dict[str, TransportSummary]:
    return {s.kind: TransportSummary(s.roc_auc, s.ece, s.note) for s in scores}
