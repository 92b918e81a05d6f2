"""Which figures a study's report shows, and the aggregated rows each one plots."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ctdc_risk.factors.factor_rows import FactorRow
from ctdc_risk.features import FACTORS, PHASE_WORDS
from ctdc_risk.report import figures
from ctdc_risk.report.content import lead_factor_rows
from ctdc_risk.report.inputs import ReportInputs
from ctdc_risk.report.phrases import short_phrase

# The chart shows the rows the factor section leads with; every row is in the appendix table.
MAX_CHART_ROWS = 25


def _chart_rows(inputs: ReportInputs) -> list[dict[str, Any]]:
    rows = [
        {**r.to_record(), "display": _display(r)}
        for r in lead_factor_rows(inputs.factors.rows)
        if r.label != "reference"
        and r.adjusted_or is not None
        and r.adjusted_or_low is not None
        and r.level not in ("unknown", "other (fewer than k cases)", "not recorded")
    ]  # fmt: skip
    order = {
        d: i for i, d in enumerate(("individual", "household_family", "community", "structural"))
    }
    phases = {p: i for i, p in enumerate(PHASE_WORDS)}
    rows.sort(key=lambda r: (order[r["domv_level"]], phases[r["phase"]], r["rank"], r["level"]))
    return rows[:MAX_CHART_ROWS]


def _display(row: FactorRow) -> str:
    domv = row.domv_level.replace("_", "/")
    phase = row.phase.replace("_", " ")
    return f"{short_phrase(row.factor, row.level)} [{domv}, {phase}]"


def _importance_items(inputs: ReportInputs) -> list[tuple[str, float, str]]:
    by_factor: dict[str, dict[str, Any]] = {}
    for r in inputs.factors.rows:
        entry = by_factor.setdefault(
            r.factor, {"importance": r.shap_importance or 0.0, "labels": set()}
        )
        entry["labels"].add(r.label)
    items = []
    for factor, entry in sorted(by_factor.items(), key=lambda kv: -kv[1]["importance"])[:15]:
        labels = entry["labels"]
        colour = (
            "risk" if "risk" in labels else "protective" if "protective" in labels else "unclear"
        )
        items.append((FACTORS[factor].label, float(entry["importance"]), colour))
    return items


def _subgroup_figure(inputs: ReportInputs, pair: tuple[str, str], title: str) -> bytes | None:
    groups: dict[str, dict[str, float]] = {}
    sizes: dict[str, int | None] = {}
    for r in inputs.factors.subgroups:
        if r.subgroup in pair:
            groups.setdefault(r.subgroup, {})[r.factor] = r.importance
            # A subgroup's size may be withheld ("suppressed") to protect another cell.
            sizes[r.subgroup] = r.size
    if len(groups) < 2:
        return None
    top = sorted(
        {f for g in groups.values() for f in g},
        key=lambda f: -max(g.get(f, 0) for g in groups.values()),
    )[:8]
    labelled = {
        name: (sizes[name], {FACTORS[f].label: v for f, v in g.items()})
        for name, g in sorted(groups.items(), key=lambda kv: pair.index(kv[0]))
    }
    return figures.cohort_bars([FACTORS[f].label for f in top], labelled, title=title)


def flow_steps(inputs: ReportInputs) -> list[tuple[tuple[str, int], str]]:
    """Cohort-flow steps with the marker of each withheld count (empty where published)."""
    floor = inputs.floor
    markers = inputs.cases.flow_markers or tuple(
        floor.marker if floor.is_small(n) else "" for _, n in inputs.cases.flow
    )
    return list(zip(inputs.cases.flow, markers, strict=True))


def build_figures(inputs: ReportInputs) -> dict[str, bytes]:
    """All report figures, from aggregated and privacy-checked inputs."""
    out: dict[str, bytes] = {}
    chart = _chart_rows(inputs)
    if chart:
        out["factor_chart.png"] = figures.forest_plot(
            chart, title="Adjusted odds ratios with 95 % intervals"
        )
    out["shap_importance.png"] = figures.importance_bars(
        _importance_items(inputs),
        title=f"How much each factor mattered ({inputs.models.primary_model})",
    )
    for pair, name, who in (
        (("boys", "girls"), "subgroups_gender.png", "Boys and girls"),
        (("aged 0-8", "aged 9-17"), "subgroups_age.png", "Ages 0-8 and 9-17"),
    ):
        title = f"{who}: how much each factor mattered"
        fig = _subgroup_figure(inputs, pair, title)
        if fig is not None:
            out[name] = fig
    curves: dict[str, Sequence[tuple[float, float]]] = {
        model: [
            (b.mean_predicted, b.observed_rate)
            for b in bins
            if b.mean_predicted is not None and b.observed_rate is not None
        ]
        for model, bins in inputs.models.reliability.items()
    }
    out["calibration.png"] = figures.reliability_plot(
        curves, title="Do predicted chances match what was observed?"
    )
    if inputs.targeting is not None and len(inputs.targeting.rows) > 1:
        out["targeting_gain.png"] = figures.gain_chart(
            inputs.targeting.heldout_curve,
            inputs.targeting.training_curve,
            top=inputs.targeting.boundaries.index(inputs.targeting.top) + 1,
            title="Outcome cases reached by targeting profiles",
        )
    steps = [(name, None if m else n) for (name, n), m in flow_steps(inputs)]
    out["cohort_flow.png"] = figures.flow_bars(steps, title="Cases left after each selection rule")
    return out
