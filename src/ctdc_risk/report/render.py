"""Lay out a study's report: its sections, tables and wording, as HTML and Markdown.

Which figures it shows is ``report.study_figures``; how sections become a self-contained HTML
page or Markdown is ``report.markup``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ctdc_risk.factors.factor_rows import FactorRow
from ctdc_risk.factors.sensitivity import ANALYSES
from ctdc_risk.features import FACTORS, PHASE_WORDS
from ctdc_risk.privacy import Floor
from ctdc_risk.report.caveats import banner, caveats, hidden_profiles_note, targeting_caveats
from ctdc_risk.report.content import lead_factor_rows, summary_sentences, targeting_sentence
from ctdc_risk.report.differences import difference_sections
from ctdc_risk.report.inputs import ReportInputs
from ctdc_risk.report.markup import Section, sections_html, sections_markdown
from ctdc_risk.report.method_words import (
    CHILD_RULE_WORDS,
    REFERENCE_FIGURES,
    headline_differences,
    method_notes,
    sensitivity_sentences,
    settings_items,
)
from ctdc_risk.report.phrases import short_phrase
from ctdc_risk.report.study_figures import build_figures, flow_steps
from ctdc_risk.targeting.results import SCHEME_WORDS, TargetingTable


@dataclass(frozen=True)
class RenderedReport:
    html: str
    markdown: str
    figures: dict[str, bytes]
    """file name -> PNG bytes (written to figures/ for the Markdown version)."""


def _fmt(x: float | None, pattern: str = "{:.2f}") -> str:
    return "" if x is None else pattern.format(x)


def render_report(inputs: ReportInputs) -> RenderedReport:
    """The report as HTML (self-contained) and Markdown, plus its figures."""
    figs = build_figures(inputs)
    sections = _sections(inputs, figs)
    return RenderedReport(
        sections_html(inputs.question.title, sections, figs, note=banner(inputs) or ""),
        sections_markdown(inputs.question.title, sections, note=banner(inputs) or ""),
        figs,
    )


def _sections(inputs: ReportInputs, figs: dict[str, bytes]) -> list[Section]:
    sections: list[Section] = [("summary", "Summary", [("ul", summary_sentences(inputs))])]
    metrics_rows = [
        [name, _fmt(m["roc_auc_mean"]) + " ± " + _fmt(m["roc_auc_std"]),
         _fmt(m["average_precision_mean"]), _fmt(m["brier_mean"], "{:.3f}"),
         _fmt(m["ece_mean"], "{:.3f}")]
        for name, m in inputs.models.cv.items()
    ]  # fmt: skip
    b = inputs.models.baseline
    metrics_rows.append(
        ["baseline (prevalence only)", _fmt(b["roc_auc_mean"]) + " ± " + _fmt(b["roc_auc_std"]),
         _fmt(b["average_precision_mean"]), _fmt(b["brier_mean"], "{:.3f}"),
         _fmt(b["ece_mean"], "{:.3f}")]
    )  # fmt: skip
    stable = [
        f"{short_phrase(r.factor, r.level)}: {r.label} (odds ratio on the same side of 1 in "
        f"{r.sign_agreement:.0%} of {inputs.factors.n_boot} refits; rank {_rank(r)}"
        + (
            f"; E-value {r.e_value:.1f}, {r.e_value_ci:.1f} for its interval)"
            if r.e_value and r.e_value_ci
            else ")"
        )
        for r in inputs.factors.rows
        if r.label in ("risk", "protective") and r.sign_agreement is not None
    ]
    transport_rows = _transport_rows(inputs)
    sections.append((
        "how-sure", "How sure are we",
        [
            ("p", f"Scores on cases held out from fitting ({inputs.models.n_splits}-fold "
                  "cross-validation, every set of identical records kept on one side), mean ± "
                  "spread across folds. ROC AUC: 0.5 is chance, 1 is perfect separation. Lower "
                  "Brier score and calibration error are better."),
            ("table", (["model", "ROC AUC", "average precision", "Brier score",
                        "calibration error"], metrics_rows)),
            ("p", "Does it carry over? The same models scored on countries they were not "
                  "trained on (folds grouped by country of citizenship) and on later years "
                  "(trained on earlier registrations). The summary quotes the lowest of these "
                  "AUCs."),
            ("table", (["model", "default folds", "grouped by country", "later years"],
                       transport_rows)),
            ("p", f"Stable factors (labelled, and on the same side of 1 in at least "
                  f"{inputs.factors.min_sign_agreement:.0%} of {inputs.factors.n_boot} bootstrap "
                  "refits of the "
                  "whole analysis):"),
            ("ul", stable or ["none met the rule"]),
            ("ul", method_notes(inputs)),
        ],
    ))  # fmt: skip
    shown = [r for r in inputs.factors.rows if r.label != "reference"]
    lead = lead_factor_rows(inputs.factors.rows)
    n_labelled = sum(r.label in ("risk", "protective") for r in lead)
    factor_blocks: list[tuple[str, Any]] = [
        ("p", "Adjusted odds ratios with 95 % intervals, grouped by DoMV (Determinants of "
              "Migrant Vulnerability: individual, household and family, community, structural) "
              "level and case phase. Each level is compared with its factor's reference level, "
              "with the other factors held fixed. Risk (vermillion) and protective (blue) levels "
              "meet every condition of the labelling rule; the 'why' column says which "
              "condition a level met or failed."),
        ("p", f"Shown here: the {n_labelled} labelled level(s) and the {len(lead) - n_labelled} "
              f"other levels of the factors the model relied on most, of {len(shown)} levels "
              "in all. Every level, including unknown, pooled and suppressed ones, is in the "
              "appendix 'All factor levels' at the end of this report and in factors.csv."),
        ("ul", [
            "Rank: how much the factor moved the model's estimates, 1 = most (from its SHAP "
            "values); the range in brackets is the rank it took across the bootstrap refits. "
            "Levels of one factor share its rank.",
            "q: the level's p-value corrected for the number of levels tested; below "
            f"{inputs.factors.alpha:g} passes.",
            "Bootstrap interval: the odds ratio's range over refits of the whole analysis.",
        ]),
    ]  # fmt: skip
    if "factor_chart.png" in figs:
        factor_blocks.append(("img", ("factor_chart.png", "forest plot of adjusted odds ratios")))
    factor_blocks.append(("table", (_FACTOR_HEADER, [_factor_cells(r) for r in lead])))
    if inputs.factors.dropped:
        factor_blocks.append(("p", "Factors left out of this study:"))
        factor_blocks.append((
            "ul", [f"{FACTORS[f].label}: {why}" for f, why in inputs.factors.dropped]
        ))  # fmt: skip
    sections.append(("factor-chart", "Factors", factor_blocks))
    if inputs.factors.sensitivity is not None:
        sections.append(("sensitivity", "Does it hold under another reading of the missing data?",
                         _sensitivity_blocks(inputs)))  # fmt: skip
    sections += difference_sections(inputs.factors.interactions, inputs.question.outcome_words)
    if inputs.factors.context_rows:
        sections.append(("context", "What else was recorded in these cases",
                         _context_blocks(inputs)))  # fmt: skip
    shap_blocks: list[tuple[str, Any]] = [
        ("p", f"How much each factor moved the model's estimate ({inputs.models.primary_model}, "
              "exact "
              "SHAP values summed per factor and averaged over all cases; no single case is "
              "shown)."),
        ("img", ("shap_importance.png", "bar chart of factor importance")),
    ]  # fmt: skip
    for name, alt in (("subgroups_gender.png", "boys and girls"), ("subgroups_age.png", "ages")):
        if name in figs:
            shap_blocks.append(("img", (name, f"factor importance for {alt}")))
    sections.append(("shap", "What the model relied on", shap_blocks))
    sections.append((
        "calibration", "Calibration and cohort",
        [("img", ("calibration.png", "reliability curve")),
         ("img", ("cohort_flow.png", "cases after each rule")),
         ("table", (["step", "cases"], [[name, m or n] for (name, n), m in flow_steps(inputs)]))],
    ))  # fmt: skip
    if inputs.targeting is not None:
        sections.append(("targeting", "Whom a prevention program could reach",
                         _targeting_blocks(inputs, figs)))  # fmt: skip
    sections.append(("caveats", "What this data cannot tell you", [("ul", caveats(inputs))]))
    # Generated data is compared with no published figure: the comparison would mean nothing.
    if not inputs.cases.data.generated:
        reference = _reference_block(inputs)
        if reference:
            sections.append(("reference", "Published figures beside ours", reference))
    elif inputs.cases.child_rules:
        sections.append(("child-rules", "The headline under every child rule", [
            ("p", "Share recruited by a family member among cases with a known recruiter, under "
                  "each rule for who is a child."),
            _child_rule_table(inputs),
        ]))  # fmt: skip
    d = inputs.cases.data
    sections.append((
        "provenance", "Provenance",
        [("table", (["item", "value"], [
            ["data file", d.source.name], ["release", d.release_label],
            ["sha256", d.source.sha256], ["rows read / kept", f"{d.rows_read:,} / {d.rows_out:,}"],
            ["ctdc-risk version", inputs.run.version], ["created (UTC)", inputs.run.created],
            ["run", inputs.run.run_id],
        ])),
         ("p", "Settings of this run (the full resolved config is in .hydra/config.yaml):"),
         ("ul", settings_items(inputs.run.settings))],
    ))  # fmt: skip
    sections.append((
        "appendix-factors", "Appendix: all factor levels",
        [("p", "Every level of every factor in the study, in the order of factors.csv."),
         ("table", (_FACTOR_HEADER, [_factor_cells(r) for r in shown]))],
    ))  # fmt: skip
    return sections


_FACTOR_HEADER = [
    "factor level", "compared with", "DoMV level", "case phase", "cases",
    "adjusted OR [95 % CI]", "bootstrap 95 % interval", "q", "rank (1 = most)", "label", "why",
]  # fmt: skip


def _factor_cells(r: FactorRow) -> list[Any]:
    return [
        short_phrase(r.factor, r.level), short_phrase(r.factor, r.reference_level),
        r.domv_level.replace("_", "/"), PHASE_WORDS[r.phase],
        r.n_with if r.n_with is not None else "suppressed",
        _ci(r.adjusted_or, r.adjusted_or_low, r.adjusted_or_high, r.label),
        _interval(r.boot_or_low, r.boot_or_high),
        _fmt(r.q_value, "{:.2g}"), _rank(r), r.label, r.reason,
    ]  # fmt: skip


def _targeting_blocks(inputs: ReportInputs, figs: dict[str, bytes]) -> list[tuple[str, Any]]:
    table = inputs.targeting
    assert table is not None
    blocks: list[tuple[str, Any]] = [("p", targeting_sentence(inputs) or "")]
    if "targeting_gain.png" in figs:
        blocks.append(("p", "The green line is what a program reaching profiles in order of "
                            "their rate would reach, measured on cases held out while the "
                            "profiles were learnt; the dashed diagonal is what reaching cases "
                            "without regard to profile would give."))  # fmt: skip
        blocks.append(("img", ("targeting_gain.png", "gain chart of the targeting profiles")))
    rows = []
    hidden = [r.rank for r in table.rows if r.heldout is None and r.folds_found]
    for r in table.rows:
        h = r.heldout
        missing = "not learnt again" if not r.folds_found else "not shown (see below)"
        rate = coverage = lift = shrink = missing
        if h is not None:
            low, high = h.interval
            rate = f"{h.rate:.0%} [{low:.0%}-{high:.0%}]"
            coverage = f"{h.coverage:.0%}"
            lift = f"{r.lift:.2f}"
            shrink = f"{h.training_lift:.2f} → {h.lift:.2f}"
        reached = (
            f"{r.cumulative[0]:.0%} in {r.cumulative[1]:.0%}" if r.cumulative else "(pooled below)"
        )
        rows.append([r.rank, r.profile, f"{r.n_cases:,}", rate, lift, coverage, reached,
                     f"{r.folds_found} of {table.folds}", shrink])  # fmt: skip
    header = ["rank", "profile", "cases",
              f"share {inputs.question.outcome_words} (held-out) [95 % CI]", "lift", "coverage",
              "cumulative: outcome cases reached in share of cases", "learnt again in folds",
              "lift where learnt → held-out"]  # fmt: skip
    blocks.append(("p", "Lift: the profile's rate divided by the rate of all held-out cases. "
                        "Coverage: the share of all outcome cases the profile holds. "
                        "Cumulative: what reaching this profile and every profile above it "
                        "reaches. Lift where learnt → held-out: how much of a profile's "
                        "concentration carries over to cases not used to learn it. Figures, "
                        "with each profile's lift with folds grouped by country and in later "
                        "years, in targeting.csv and targeting.json."))  # fmt: skip
    blocks.append(("table", (header, rows)))
    if len(table.schemes) > 1:
        blocks.append(("p", "Does it travel? What reaching the top profiles reaches when the "
                            "profiles are learnt without the held-out cases' countries or "
                            "years; the summary quotes the lowest lift."))  # fmt: skip
        blocks.append(("table", _scheme_rows(table)))
    if hidden:
        blocks.append(("p", hidden_profiles_note(hidden, inputs)))
    blocks.append(("ul", targeting_caveats(inputs)))
    return blocks


def _scheme_rows(table: TargetingTable) -> tuple[list[str], list[list[str]]]:
    header = ["held out", "how", "top profiles", "outcome cases reached", "share of cases",
              "lift (held-out)", "lift where learnt", "lift shrinkage"]  # fmt: skip
    rows = []
    for s in table.schemes:
        words = SCHEME_WORDS.get(s.scheme, s.scheme)
        if not s.made:
            rows.append([words, f"not measured: {s.note}", "", "", "", "", "", ""])
        elif s.holds_every_case:
            rows.append([words, s.note, "every profile", "100%", "100%",
                         "no profile set apart", "", ""])  # fmt: skip
        else:
            rows.append([words, s.note, str(s.top), f"{s.coverage:.0%}", f"{s.share:.0%}",
                         f"{s.lift:.2f}", f"{s.training_lift:.2f}",
                         f"{s.lift_shrinkage:.2f}"])  # fmt: skip
    return header, rows


def _reference_block(inputs: ReportInputs) -> list[tuple[str, Any]]:
    ours = inputs.cases.reference_shares
    if not ours:
        return []

    def share(group: str) -> str:
        cell = ours.get(group)
        if cell is None:
            return f"{inputs.floor.marker} (suppressed)"
        n, yes = cell
        if n == 0:
            return "not in this cohort"
        return f"{yes / n:.0%} of {n:,}"

    rows = [[name, f"{c:.0%}", f"{a:.0%}"] for name, c, a in REFERENCE_FIGURES]
    rows.append(["this study's data", share("children"), share("adults")])
    blocks: list[tuple[str, Any]] = [
        ("p", "Share recruited by a family member among cases with a known recruiter."),
        ("table", (["source", "children", "adults"], rows)),
    ]
    if inputs.cases.child_rules:
        blocks.append(("p", "Why our figures differ from the published ones:"))
        blocks.append(("ul", headline_differences(inputs)))
        blocks.append(_child_rule_table(inputs))
    return blocks


def _child_rule_table(inputs: ReportInputs) -> tuple[str, Any]:
    ours, floor = inputs.question.child_rule, inputs.floor
    return ("table", (
            ["who is a child", "children with a known recruiter", "recruited by family",
             "adults with a known recruiter", "recruited by family"],
            [[CHILD_RULE_WORDS[c.rule] + (" (this study)" if c.rule == ours else ""),
              _count(c.children_known, floor), _fmt(c.children_family, "{:.0%}") or "suppressed",
              _count(c.adults_known, floor), _fmt(c.adults_family, "{:.0%}") or "suppressed"]
             for c in inputs.cases.child_rules],
        ))  # fmt: skip


def _count(n: int | None, floor: Floor) -> str:
    return floor.marker if n is None else f"{n:,}"


def _ci(value: float | None, low: float | None, high: float | None, label: str = "") -> str:
    if value is None:
        return label if label in ("suppressed", "not estimable") else "not estimable"
    if low is None or high is None:
        return f"{value:.2f}"
    return f"{value:.2f} [{low:.2f}-{high:.2f}]"


def _interval(low: float | None, high: float | None) -> str:
    return "" if low is None or high is None else f"{low:.2f}-{high:.2f}"


def _rank(r: FactorRow) -> str:
    if r.rank is None:
        return ""
    span = "" if r.rank_low is None else f" ({r.rank_low:g}-{r.rank_high:g})"
    return f"{r.rank:g}{span}"


def _transport_rows(inputs: ReportInputs) -> list[list[str]]:
    rows = []
    for name, m in inputs.models.cv.items():
        t = inputs.models.transport_by_model.get(name, {})
        cells = [name, _fmt(m["roc_auc_mean"])]
        for kind in ("country", "temporal"):
            score = t.get(kind)
            if score is None:
                cells.append("")
            else:
                cells.append(_fmt(score.roc_auc) if score.roc_auc is not None else score.note)
        rows.append(cells)
    return rows


def _sensitivity_blocks(inputs: ReportInputs) -> list[tuple[str, Any]]:
    result = inputs.factors.sensitivity
    assert result is not None
    blocks: list[tuple[str, Any]] = [("ul", sensitivity_sentences(inputs))]
    if result.rows:
        rows = [
            [short_phrase(r.factor, r.level), ANALYSES.get(r.analysis, r.analysis),
             _ci(r.primary_or, r.primary_low, r.primary_high),
             _ci(r.sensitivity_or, r.sensitivity_low, r.sensitivity_high), r.verdict]
            for r in result.rows
        ]  # fmt: skip
        blocks.append(("table", (["labelled level", "analysis", "primary OR [95 % CI]",
                                  "sensitivity OR [95 % CI]", "verdict"], rows)))  # fmt: skip
    return blocks


def _context_blocks(inputs: ReportInputs) -> list[tuple[str, Any]]:
    rows = [
        [short_phrase(r.factor, r.level), PHASE_WORDS[r.phase],
         r.n_with if r.n_with is not None else "suppressed",
         _fmt(r.share_with, "{:.0%}") or "suppressed", _fmt(r.share_without, "{:.0%}"),
         _ci(r.crude_pr, r.crude_pr_low, r.crude_pr_high, "suppressed")]
        for r in inputs.factors.context_rows
        if r.level not in ("unknown", "other (fewer than k cases)", "not recorded")
    ]  # fmt: skip
    return [
        ("p", f"These items were recorded about what happened after recruitment, so for the "
              f"outcome '{inputs.question.outcome_words}' they are part of the story, not part of "
              "its "
              "explanation: who recruited a child shapes how the child was exploited. They are "
              "shown as plain shares, never adjusted for, and never called risk or protective."),
        ("table", (["item", "case phase", "cases with it",
                    f"share {inputs.question.outcome_words} with it", "without it",
                    "ratio of shares [95 % CI]"], rows)),
    ]  # fmt: skip
