"""A factor level in words ("of victims aged 0-8 when registered"), for sentences and tables."""

from __future__ import annotations

from ctdc_risk.features import FACTORS

_VERB_LABELS = ("recruited", "trafficked")
_GENDER_WORDS = {
    "female": "female",
    "male": "male",
    "trans_nonconforming": "transgender or gender non-conforming",
}


def level_phrase(factor: str, level: str, *, positive_only: bool = False) -> str:
    """A factor level as it completes "cases ...": "of victims aged 0-8 when registered".

    Examples
    --------
    >>> level_phrase("age_band", "0--8"), level_phrase("cross_border", "yes")
    ('of victims aged 0-8 when registered', 'trafficked across a border')
    """
    f = FACTORS[factor]
    if level == "unknown":
        return f"with {f.label} not known"
    if f.kind in ("flag", "binary"):
        verb = f.label.startswith(_VERB_LABELS)
        base = f.label if verb else f"with {f.label}"
        if level == "yes":
            return base
        if level == "recorded":
            return f"{base} (recorded)"
        if level == "no":
            return f"not {f.label}" if verb else f"without {f.label}"
        return f"{base} not recorded" if verb else f"with {f.label} not recorded"
    text = level.replace("--", "-").replace("_", " ")
    templates = {
        # Age bands are recorded at registration; under the default child rule a "child" may
        # have been registered as an adult years after being exploited as a minor.
        "age_band": "of victims aged {} when registered",
        "citizenship_subregion": "of citizens of {}",
        "exploitation_subregion": "exploited in {}",
        "registration_period": "registered {}",
        "trafficking_months": "with {} months in trafficking",
        "datasource": "registered by {}",
    }
    if factor == "gender":
        return f"of {_GENDER_WORDS.get(level, text)} victims"
    return templates.get(factor, f.label + ": {}").format(text)


def short_phrase(factor: str, level: str) -> str:
    """The level phrase without its leading preposition, for labels and tables."""
    phrase = level_phrase(factor, level)
    return phrase.removeprefix("of ").removeprefix("with ")
