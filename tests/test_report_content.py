"""Generated wording: never causal, never individual prediction, unclear never directional."""

import pytest

from ctdc_risk.report.content import FORBIDDEN_WORDS, factor_sentence, level_phrase


def _row(label, crude=1.8, share_with=0.7, share_without=0.4, odds=2.5):
    return {
        "factor": "cross_border", "level": "yes", "reference_level": "no", "label": label,
        "crude_pr": crude, "share_with": share_with, "share_without": share_without,
        "adjusted_or": odds,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (_row("risk"), "about 80% more often than other cases (70% vs 40%)"),
        (_row("risk", crude=2.5, share_with=0.5, share_without=0.2), "about 2.5 times as often as"),
        (_row("protective", crude=0.4, share_with=0.2, share_without=0.5), "2.5 times less often"),
        (_row("risk", crude=0.9, share_with=0.36, share_without=0.4), "had higher odds"),
    ],
)
def test_factor_sentences_say_size_in_plain_words(row, expected):
    sentence = factor_sentence(row, "recruited by a family member", positive_only=False)
    assert expected in sentence
    assert sentence.startswith("Cases trafficked across a border") or "Once" in sentence
    for word in FORBIDDEN_WORDS:
        assert word not in sentence.lower()


def test_unclear_levels_get_no_sentence():
    with pytest.raises(ValueError, match="labelled"):
        factor_sentence(_row("unclear"), "x", positive_only=False)


@pytest.mark.parametrize(
    ("factor", "level", "phrase"),
    [
        ("age_band", "0--8", "of victims aged 0-8"),
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
