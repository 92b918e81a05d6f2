"""Generated wording: never causal, never individual prediction, unclear never directional."""

import re
import struct
from dataclasses import fields, replace
from html import unescape

import pytest

from ctdc_risk.data.data_report import DataReport
from ctdc_risk.data.io import SourceInfo
from ctdc_risk.evaluate import ReliabilityBin
from ctdc_risk.factors.factor_rows import FactorRow
from ctdc_risk.privacy import Floor
from ctdc_risk.report import figures
from ctdc_risk.report.caveats import hidden_profiles_note, study_cautions
from ctdc_risk.report.content import (
    FORBIDDEN_WORDS,
    factor_sentence,
    lead_factor_rows,
    summary_sentences,
)
from ctdc_risk.report.inputs import (
    CaseCounts,
    FactorFindings,
    ModelScores,
    ReportInputs,
    RunInfo,
    StudyQuestion,
)
from ctdc_risk.report.method_words import settings_items
from ctdc_risk.report.phrases import level_phrase
from ctdc_risk.report.render import render_report
from ctdc_risk.report.study_figures import _chart_rows


def _row(label, share_with=0.7, share_without=0.4, odds=2.5, low=1.5, high=4.0):
    values = {f.name: None for f in fields(FactorRow)}
    values.update(
        factor="cross_border", factor_label="trafficked across a border", level="yes",
        reference_level="no", label=label, share_with=share_with, share_without=share_without,
        adjusted_or=odds, adjusted_or_low=low, adjusted_or_high=high, reason="", adjusted_note="",
        shap_model="lightgbm", domv_level="structural", phase="exploitation",
    )  # fmt: skip
    return FactorRow(**values)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (_row("risk"), "had higher odds of being recruited by a family member than cases not "
                       "trafficked across a border (about 2.5 times the odds"),
        (_row("risk", odds=1.4, low=1.1, high=1.8), "about 40% higher odds"),
        (_row("protective", odds=0.25, low=0.1, high=0.6), "about 25% of the odds"),
        (_row("protective", odds=0.7, low=0.5, high=0.9), "about 30% lower odds"),
        (_row("risk"), "odds ratio 2.50, 95 % interval 1.50-4.00; 70% of them were, against 40%"),
    ],
)  # fmt: skip
def test_factor_sentences_say_size_in_plain_words(row, expected):
    sentence = factor_sentence(row, "recruited by a family member", positive_only=False)
    assert expected in sentence
    assert sentence.startswith("Cases trafficked across a border")
    for word in FORBIDDEN_WORDS:
        assert word not in sentence.lower()


def test_unclear_levels_get_no_sentence():
    with pytest.raises(ValueError, match="labelled"):
        factor_sentence(_row("unclear"), "x", positive_only=False)


@pytest.mark.parametrize(
    ("factor", "level", "phrase"),
    [
        ("age_band", "0--8", "of victims aged 0-8 when registered"),
        ("gender", "male", "of male victims"),
        ("citizenship_subregion", "Eastern Europe", "of citizens of Eastern Europe"),
        ("means_false_promises", "yes", "with false promises"),
        ("means_false_promises", "recorded", "with false promises (recorded)"),
        ("cross_border", "no", "not trafficked across a border"),
        ("age_band", "unknown", "with age band not known"),
    ],
)
def test_level_phrases(factor, level, phrase):
    assert level_phrase(factor, level) == phrase


# --- the rendered report, from hand-built inputs (issue 16) ---------------------------------


def _data(generated: bool) -> DataReport:
    source = SourceInfo(
        path="<built-in synthetic generator>" if generated else "/data/ctdc.csv",
        name="synthetic CTDC-like data" if generated else "ctdc.csv",
        sha256="0" * 64, n_bytes=0, file_format="generated" if generated else "csv",
    )  # fmt: skip
    return DataReport(
        source=source, release_id="ctdc_risk_canonical" if generated else "synthetic_2021",
        release_label="a release", flag_semantics="three_state", rows_read=5000,
        rows_out=5000, rows_dropped={}, columns_read=75, columns_extra=(),
        header_respelled=(), columns_absent=(), missing_share={}, rewrites={},
        unmapped_countries={}, country_mapped_share=None, child_status_rule={},
        inconsistencies={}, recruiter_from_text=0, n_duplicate_rows=0,
    )  # fmt: skip


def _level(level, label, odds, rank, factor="citizenship_subregion"):
    return replace(
        _row(label, odds=odds, low=odds * 0.8, high=odds * 1.25), factor=factor, level=level,
        reference_level="South-eastern Asia", domv_level="structural",
        phase="before_recruitment", rank=rank, n_with=100, reason=f"{label} because",
    )  # fmt: skip


def _rows(n_unclear=60):
    rows = [_level("Eastern Europe", "protective", 0.5, 1.0),
            _level("0--8", "risk", 2.0, 2.0, factor="age_band")]  # fmt: skip
    rows += [_level(f"Region {i}", "unclear", 1.0 + i / 100, 3.0 + i) for i in range(n_unclear)]
    rows.append(_level("unknown", "unclear", 3.0, 1.0))
    return tuple(rows)


def _inputs(*, generated=True, **changes):
    scores = {"roc_auc_mean": 0.7, "roc_auc_std": 0.02, "average_precision_mean": 0.6,
              "brier_mean": 0.2, "ece_mean": 0.05}  # fmt: skip
    base = ReportInputs(
        question=StudyQuestion(
            title="What goes with being recruited by a family member: children",
            outcome_words="recruited by a family member", target_description="",
            cohort_name="children", cohort_description="",
        ),
        cases=CaseCounts(
            data=_data(generated), n_cases=5000, n_positive=2000, flow=(("all records", 5000),),
            reference_shares={"children": (1000, 450), "adults": (3000, 300)},
        ),
        models=ModelScores(
            primary_model="lightgbm", cv={"lightgbm": scores},
            baseline={**scores, "roc_auc_mean": 0.5, "roc_auc_std": 0.0},
            reliability={"lightgbm": (ReliabilityBin(0.0, 0.5, 100, 0.3, 0.3),)}, n_splits=5,
        ),
        factors=FactorFindings(rows=_rows(), n_boot=20, min_sign_agreement=0.9),
        run=RunInfo(
            settings={"cohort": "children", "models": ["logistic", "lightgbm"],
                      "privacy_k": 10, "cv": {"kind": "stratified", "n_splits": 5}},
            version="0", created="today", run_id="run",
        ),
        floor=Floor(10),
    )  # fmt: skip
    # A change names a field of one part (n_cases: the cases part).
    parts = {}
    for name, value in changes.items():
        part = next(p.name for p in fields(base) if name in _field_names(getattr(base, p.name)))
        parts.setdefault(part, {})[name] = value
    return replace(base, **{p: replace(getattr(base, p), **c) for p, c in parts.items()})


def _field_names(part):
    return {f.name for f in fields(part)} if hasattr(part, "__dataclass_fields__") else set()


def _text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", re.sub(r'src="data:[^"]+"', "", html)))


def test_generated_data_opens_with_a_banner_and_is_compared_with_no_published_figure():
    generated = render_report(_inputs(generated=True))
    top = generated.html.split('<section id="summary">')[0]
    assert 'id="banner"' in top and "Generated demonstration data, not CTDC records" in top
    assert generated.markdown.splitlines()[2].startswith("> **Generated demonstration data")
    assert 'id="reference"' not in generated.html and "IOM/CTDC" not in generated.markdown
    assert "5,000 generated cases (demonstration data" in summary_sentences(_inputs())[0]
    assert "identified victims" not in summary_sentences(_inputs())[0]
    real = render_report(_inputs(generated=False))
    assert 'id="banner"' not in real.html and "Generated demonstration" not in real.markdown
    assert 'id="reference"' in real.html and "IOM/CTDC data brief" in real.markdown


def test_factor_section_leads_with_labelled_and_strongest_levels_and_appendix_holds_all():
    inputs = _inputs()
    lead = lead_factor_rows(inputs.factors.rows)
    assert [r.label for r in lead[:2]] == ["protective", "risk"]
    assert len(lead) == 12 and all(r.level != "unknown" for r in lead)
    assert [r.rank for r in lead[2:]] == sorted(r.rank for r in lead[2:])  # strongest first
    html = render_report(inputs).html
    factors = html.split('<section id="factor-chart">')[1].split("</section>")[0]
    appendix = html.split('<section id="appendix-factors">')[1].split("</section>")[0]
    assert factors.count("<tr>") == 1 + 12
    assert appendix.count("<tr>") == 1 + len(inputs.factors.rows)
    assert "appendix 'All factor levels'" in unescape(factors) and "factors.csv" in factors
    text = _text(html)
    first = text.index("DoMV")
    assert text[first:].startswith("DoMV (Determinants of Migrant Vulnerability")
    assert "Rank: how much the factor moved the model's estimates, 1 = most" in text
    # The chart shows the lead rows only, so it stays readable (was ~2,000 px tall).
    chart = figures.forest_plot(_chart_rows(inputs), title="t")
    width, height = struct.unpack(">II", chart[16:24])
    assert height < 1000, (width, height)


def test_settings_are_a_readable_list_not_json():
    md = render_report(_inputs()).markdown
    provenance = md.split("## Provenance")[1].split("## Appendix")[0]
    assert "{" not in provenance and '"' not in provenance
    for line in ("- cohort: children", "- models: logistic, lightgbm", "- privacy k: 10",
                 "- cv.kind: stratified", "- cv.n splits: 5"):  # fmt: skip
        assert line in provenance
    assert settings_items({"a": None, "b": []}) == ["a: not set", "b: none"]


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [(0.3, 4.0, [0.2, 0.5, 1.0, 2.0, 5.0]), (0.05, 0.9, [0.05, 0.1, 0.2, 0.5, 1.0]),
     (1.2, 30.0, [1.0, 2.0, 5.0, 10.0, 20.0, 50.0])],
)  # fmt: skip
def test_forest_plot_ticks_are_plain_numbers(low, high, ticks):
    assert figures.plain_ticks(low, high) == ticks
    plt = figures._plt()
    fig, ax = plt.subplots()
    figures._plain_log_axis(ax, low, high)
    fig.canvas.draw()
    majors = ax.xaxis.get_major_ticks()
    labels = [t.label1.get_text() for t in majors]
    top = [t.label2.get_text() for t in majors if t.label2.get_visible()]
    plt.close(fig)
    assert labels == top == [f"{t:g}" for t in ticks]  # "0.2", never "2×10⁻¹"; top as well
    assert not any("10^" in s or "\\times" in s for s in labels)


def test_small_cohorts_and_models_no_better_than_baseline_say_so():
    small = study_cautions(145, 67, 0.7, 0.5, outcome_words="recruited by a family member")
    assert len(small) == 1 and small[0].startswith("This cohort is small: 145 cases, 67 ")
    few = study_cautions(5000, 30, 0.7, 0.5, outcome_words="x")
    assert few and "small" in few[0]
    flat = study_cautions(5000, 2000, 0.5, 0.5, outcome_words="x")
    assert len(flat) == 1 and "no better than the baseline" in flat[0]
    assert study_cautions(5000, 2000, 0.7, 0.5, outcome_words="x") == []
    inputs = _inputs(n_cases=145, n_positive=67)
    sentences = summary_sentences(inputs)
    assert sentences[1].startswith("This cohort is small") and len(sentences) <= 10
    assert sentences[-1].startswith("These are associations")  # never cut off


def test_a_profile_without_held_out_figures_says_why_in_words():
    note = hidden_profiles_note([1], _inputs())
    assert note.startswith("Profile 1 has no held-out figures: ")
    assert "fewer than 10 were recruited by a family member, or fewer than 10 were not" in note
    assert hidden_profiles_note([1, 3], _inputs()).startswith("Profiles 1 and 3 have")
    for word in FORBIDDEN_WORDS:
        assert word not in note.lower()
