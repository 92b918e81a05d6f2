"""A profile in words a program designer reads correctly.

"boys aged 9-17, citizens of countries in Eastern Europe, trafficked across a border": the
people first (gender and age), then citizenship, the route and the period. A factor that allows
most of its levels is said by what it leaves out ("not citizens of countries in Eastern
Europe"). "Unknown" is always said as "not recorded", never folded into "no".
"""

from __future__ import annotations

from collections.abc import Mapping

from ctdc_risk.encoding import POOLED, UNKNOWN

_PEOPLE = {
    (True, "male"): "boys",
    (True, "female"): "girls",
    (True, "trans_nonconforming"): "transgender or gender non-conforming children",
    (True, UNKNOWN): "children whose gender is not recorded",
    (False, "male"): "male victims",
    (False, "female"): "female victims",
    (False, "trans_nonconforming"): "transgender or gender non-conforming victims",
    (False, UNKNOWN): "victims whose gender is not recorded",
}


def _person(children: bool, level: str) -> str:
    return _PEOPLE.get((children, level), f"{level} {'children' if children else 'victims'}")


def _join(words: list[str]) -> str:
    if len(words) <= 2:
        return " or ".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]


def _age(levels: tuple[str, ...]) -> str:
    known = [lv.replace("--", "-") for lv in levels if lv != UNKNOWN]
    text = f"aged {_join(known)}" if known else ""
    if UNKNOWN in levels:
        text = f"{text} or of unrecorded age" if text else "of unrecorded age"
    return text


def _region(level: str) -> str:
    return "a less common sub-region" if level == POOLED else level


def _citizenship(levels: tuple[str, ...], all_levels: tuple[str, ...]) -> str:
    known = [lv for lv in levels if lv != UNKNOWN]
    left_out = [lv for lv in all_levels if lv not in levels and lv != UNKNOWN]
    unknown = UNKNOWN in levels
    if known and not left_out:
        text = "citizenship recorded"
    elif known and len(left_out) < len(known):  # say the shorter list
        text = f"citizens of countries outside {_join([_region(lv) for lv in left_out])}"
    else:
        text = f"citizens of countries in {_join([_region(lv) for lv in known])}" if known else ""
    if unknown:
        text = f"{text}, or citizenship not recorded" if text else "citizenship not recorded"
    return text


_BORDER = {
    ("yes",): "trafficked across a border",
    ("no",): "trafficked within their own country",
    (UNKNOWN,): "border crossing not recorded",
    ("no", UNKNOWN): "not recorded as trafficked across a border",
    ("yes", UNKNOWN): "trafficked across a border or border crossing not recorded",
    ("no", "yes"): "border crossing recorded",
}


def _period(levels: tuple[str, ...], all_levels: tuple[str, ...]) -> str:
    known = [lv for lv in levels if lv != UNKNOWN]
    left_out = [lv for lv in all_levels if lv not in levels and lv != UNKNOWN]
    if known and not left_out:
        text = "registration year recorded"
    elif known and len(left_out) < len(known):
        text = f"registered outside {_join(left_out)}"
    else:
        text = f"registered {_join(known)}" if known else ""
    if UNKNOWN in levels:
        text = (
            f"{text}, or registration year not recorded"
            if text
            else ("registration year not recorded")
        )
    return text


def describe_profile(
    conditions: tuple[tuple[str, tuple[str, ...]], ...],
    levels: Mapping[str, tuple[str, ...]],
    *,
    children: bool,
) -> str:
    """The profile's conditions as one phrase.

    Parameters
    ----------
    conditions
        ``(factor, allowed levels)`` pairs of a :class:`~ctdc_risk.targeting.profiles.Profile`.
    levels
        Every level of each factor (the encoder's), to say a long list by what it leaves out.
    children
        The cohort holds children only ("boys", not "male victims").

    Examples
    --------
    >>> describe_profile(
    ...     (("age_band", ("9--17",)), ("gender", ("male",)), ("cross_border", ("yes",))),
    ...     {"age_band": ("9--17", "0--8", "unknown"), "gender": ("female", "male", "unknown"),
    ...      "cross_border": ("no", "yes", "unknown")},
    ...     children=True,
    ... )
    'boys aged 9-17, trafficked across a border'
    """
    allowed = dict(conditions)
    noun = "children" if children else "victims"
    head, other_than = noun, ""
    if "gender" in allowed:
        people = allowed["gender"]
        left_out = [lv for lv in levels["gender"] if lv not in people]
        if len(left_out) < len(people):  # "children other than boys", not a list of four
            other_than = f" other than {_join([_person(children, lv) for lv in left_out])}"
        else:
            head = _join([_person(children, lv) for lv in people])
    if "age_band" in allowed:
        head = f"{head} {_age(allowed['age_band'])}"
    head += other_than
    parts = [head] if ("gender" in allowed or "age_band" in allowed) else []
    if "citizenship_subregion" in allowed:
        parts.append(
            _citizenship(allowed["citizenship_subregion"], levels["citizenship_subregion"])
        )
    if "cross_border" in allowed:
        key = tuple(sorted(allowed["cross_border"], key=lambda lv: (lv == UNKNOWN, lv)))
        parts.append(_BORDER.get(key, "border crossing: " + _join(list(key))))
    if "registration_period" in allowed:
        parts.append(_period(allowed["registration_period"], levels["registration_period"]))
    if not parts:
        return f"all {noun} in the cohort"
    if "gender" not in allowed and "age_band" not in allowed:
        parts[0] = f"{noun}: {parts[0]}"
    return ", ".join(parts)
