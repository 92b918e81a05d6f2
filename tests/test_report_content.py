"""Generated wording: never causal, never individual prediction, unclear never directional."""

from dataclasses import fields

import pytest

from ctdc_risk.factors.table import FactorRow
from ctdc_risk.report.content import FORBIDDEN_WORDS, factor_sentence, level_phrase


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
