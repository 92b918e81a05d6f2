"""The files of a study's run folder, written from its typed result through the run folder's
privacy floor. Nothing here computes a result: it lays out what the stages published."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from sklearn.pipeline import Pipeline

from ctdc_risk.evaluate import CVResult
from ctdc_risk.factors.contributions import ShapSummary
from ctdc_risk.factors.factor_rows import COLUMNS, CONTEXT_COLUMNS, context_records, table_records
from ctdc_risk.factors.interaction_table import INTERACTION_COLUMNS
from ctdc_risk.factors.sensitivity import SENSITIVITY_COLUMNS
from ctdc_risk.factors.subgroups import SubgroupImportance
from ctdc_risk.metric_names import METRICS
from ctdc_risk.models import save_models
from ctdc_risk.outputs import RunFolder
from ctdc_risk.pipeline.result import CohortFlow, StudyResult
from ctdc_risk.privacy import SUPPRESSED, Floor
from ctdc_risk.report.render import RenderedReport
from ctdc_risk.targeting.results import COLUMNS as TARGETING_COLUMNS

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


def write_run_files(
    folder: RunFolder,
    result: StudyResult,
    *,
    fitted: Mapping[str, Pipeline],
    report: RenderedReport,
) -> tuple[Path, ...]:
    """Write every file of the run folder; returns their paths in writing order."""
    folder.path.mkdir(parents=True, exist_ok=True)
    floor = folder.floor
    files = [
        folder.write_json("data_report.json", result.data_report.published(floor.k)),
        folder.write_records(
            "cohort_flow.csv", CohortFlow.COLUMNS, result.cohort_flow.to_records()
        ),
        folder.write_json("metrics.json", result.metrics),
        folder.write_csv(
            "cv_folds.csv", ["model", "kind", "fold", *METRICS], _folds(result.cv, floor)
        ),
        folder.write_csv(
            "calibration.csv",
            ["model", "bin_lower", "bin_upper", "n", "mean_predicted", "observed_rate"],
            _calibration(result.cv, floor),
        ),
        folder.write_csv(
            "shap_importance.csv", ["model", "factor", "mean_abs_shap"], _importance(result.shap)
        ),
        folder.write_records(
            "shap_subgroups.csv", SubgroupImportance.COLUMNS, result.subgroups.to_records()
        ),
        folder.write_csv("factors.csv", list(COLUMNS), table_records(result.table)),
        folder.write_csv("context.csv", list(CONTEXT_COLUMNS), context_records(result.table)),
        folder.write_json("factors.json", _factors_document(result)),
    ]
    if result.targeting is not None:
        files.append(
            folder.write_csv("targeting.csv", list(TARGETING_COLUMNS), result.targeting.records())
        )
        files.append(folder.write_json("targeting.json", result.targeting.document()))
    if result.sensitivity is not None:
        files.append(
            folder.write_csv(
                "sensitivity.csv",
                list(SENSITIVITY_COLUMNS),
                [list(r.to_record().values()) for r in result.sensitivity.rows],
            )
        )
    if result.interactions is not None:
        files.append(
            folder.write_csv(
                "interactions.csv", list(INTERACTION_COLUMNS), result.interactions.records()
            )
        )
        files.append(folder.write_json("interactions.json", result.interactions.document()))
    files += [
        folder.write_text("report.html", report.html),
        folder.write_text("report.md", report.markdown),
        *(folder.write_bytes(f"figures/{name}", data) for name, data in report.figures.items()),
    ]
    return (*files, *save_models(folder, fitted))


def _folds(cv: Mapping[str, CVResult], floor: Floor) -> list[list[object]]:
    rows: list[list[object]] = []
    for name, result in cv.items():
        # A test fold with fewer than k cases with or without the outcome: the baseline's
        # average precision is the fold's prevalence, so its scores would give that small
        # count away, and the mean over folds gives a single withheld fold back. Withhold
        # every fold's scores then (the means stay).
        short = any(
            min(f.prevalence_test * f.n_test, (1 - f.prevalence_test) * f.n_test) < floor.k - 0.5
            for f in result.folds
        )
        for kind, folds in (("model", result.folds), ("baseline", result.baseline_folds)):
            for i, fold in enumerate(folds):
                scores = [SUPPRESSED if short else _num(fold.score(m)) for m in METRICS]
                rows.append([name, kind, i, *scores])
    return rows


def _calibration(cv: Mapping[str, CVResult], floor: Floor) -> list[list[object]]:
    return [
        [name, b.lower, b.upper, b.n if b.n is not None else b.marker or floor.marker,
         _num(b.mean_predicted), _num(b.observed_rate)]
        for name, result in cv.items()
        for b in result.reliability
    ]  # fmt: skip


def _importance(shap: Mapping[str, ShapSummary]) -> list[list[object]]:
    return [
        [name, factor, round(value, 6)]
        for name, summary in shap.items()
        for factor, value in sorted(summary.importance.items(), key=lambda kv: -kv[1])
    ]


def _factors_document(result: StudyResult) -> dict[str, object]:
    spec, table = result.spec, result.table
    return {
        "target": spec.target.name,
        "cohort": spec.cohort.name,
        "privacy_k": result.floor.k,
        "n_boot": table.n_boot,
        "label_rule": LABEL_RULE_TEXT.format(
            alpha=table.rule.alpha,
            multiplicity=table.rule.multiplicity,
            agreement=table.rule.min_sign_agreement,
        ),
        "reference_rule": REFERENCE_RULE_TEXT,
        "cv": {"kind": spec.cv.kind, "folds": spec.cv.n_splits},
        "subgroup_levels": result.subgroups.levels_document(),
        "factors": [r.to_record() for r in table.rows],
        "context": [r.to_record() for r in table.context],
        "dropped_factors": [{"factor": f, "reason": why} for f, why in table.dropped],
    }


def _num(x: float | None) -> float | str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return ""
    return round(float(x), 6)
