"""The study's slash-named metrics (``metrics.json``, the MLflow run), read off its result."""

from __future__ import annotations

from ctdc_risk.pipeline.result import StudyResult


def study_metrics(result: StudyResult) -> dict[str, float]:
    """Counts, scores and labelled levels of a study, then each analysis' own metrics.

    The cohort's size is left out when the cohort flow withholds it: it would give a step
    back.
    """
    flow, target, primary, cv = result.cohort_flow, result.target, result.primary_model, result.cv
    m: dict[str, float] = {
        "data/n_rows": float(result.data_report.rows_out),
        "cohort/n_rows": float(flow.steps[flow.cohort_step][1]),
        "target/n_rows": float(len(target.y)),
        "target/n_distinct_records": float(result.n_distinct_records),
        "target/n_positive": float(target.n_positive),
        "target/prevalence": round(target.prevalence, 6),
    }
    for name, scores in result.transport.items():
        for score in scores:
            for key, value in (("roc_auc", score.roc_auc), ("ece", score.ece)):
                if value is not None:
                    m[f"transport/{score.kind}/{name}/{key}"] = round(float(value), 6)
                    if name == primary:
                        m[f"transport/{score.kind}/{key}"] = round(float(value), 6)
    for name, scored in cv.items():
        for key, value in scored.summary().items():
            m[f"cv/{name}/{key}"] = round(float(value), 6)
    for key, value in cv[primary].summary().items():
        m[f"cv/{key}"] = round(float(value), 6)
    for key, value in cv[primary].baseline_summary().items():
        m[f"baseline/{key}"] = round(float(value), 6)
    for label in ("risk", "protective", "unclear"):
        m[f"factors/{label}_levels"] = float(len(result.table.labelled(label)))
    if flow.cohort_withheld:
        del m["cohort/n_rows"]
    for analysis in (result.targeting, result.sensitivity, result.interactions):
        m.update(analysis.metrics() if analysis is not None else {})
    return m
