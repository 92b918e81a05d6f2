"""A profile in words a program designer reads correctly.

"boys aged 9-17, citizens of countries in Eastern Europe, trafficked across a border": the
people first (gender and age), then citizenship, the route and the period. A profile never
names "not recorded" (the tree does not condition on it): a set of levels without the unknown
one is said by what it holds ("aged 9-17"); a set that keeps the unknown cases is the other side
of a split, and is said by the recorded levels it leaves out ("not aged 0-8", "children other
than boys", "not citizens of countries in Eastern Europe"). The report says once that such a
profile also holds the cases where the characteristic was not recorded.
"""

from __future__ import annotations

from collections.abc import Mapping

from ctdc_risk.encoding import POOLED, UNKNOWN

_PEOPLE = {
    (True, "male"): "boys",
    (True, "female"): "girls",
    (True, "trans_nonconforming"): "transgender or gender non-conforming children",
    (False, "male"): "male victims",
    (False, "female"): "female victims",
    (False, "trans_nonconforming"): "transgender or gender non-conforming victims",
}


def _person(children: bool, level: str) -> str:
    return _PEOPLE.get((children, level), f"{level} {'children' if children else 'victims'}")


def _join(words: list[str]) -> str:
    if len(words) <= 2:
        return " or ".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]


def _named(allowed: tuple[str, ...], all_levels: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(recorded levels held, recorded levels left out), in the encoder's order.

    A set holding the unknown level is read by what it leaves out; one without it by what it
    holds."""
    held = [lv for lv in all_levels if lv in allowed and lv != UNKNOWN]
    left_out = [lv for lv in all_levels if lv not in allowed and lv != UNKNOWN]
    return held, left_out


def _age(allowed: tuple[str, ...], all_levels: tuple[str, ...]) -> str:
    held, left_out = _named(allowed, all_levels)
    if UNKNOWN in allowed:
        return f"not aged {_join([lv.replace('--', '-') for lv in left_out])}" if left_out else ""
    return f"aged {_join([lv.replace('--', '-') for lv in held])}"


def _region(level: str) -> str:
    return "a less common sub-region" if level == POOLED else level


def _citizenship(allowed: tuple[str, ...], all_levels: tuple[str, ...]) -> str:
    held, left_out = _named(allowed, all_levels)
    if UNKNOWN in allowed:
        regions = _join([_region(lv) for lv in left_out])
        return f"not citizens of countries in {regions}" if left_out else ""
    if not left_out:
        return "citizenship recorded"
    if len(left_out) < len(held):  # say the shorter list
        return f"citizens of countries outside {_join([_region(lv) for lv in left_out])}"
    return f"citizens of countries in {_join([_region(lv) for lv in held])}"


_BORDER = {
    ("yes",): "trafficked across a border",
    ("no",): "trafficked within their own country",
    ("no", "yes"): "border crossing recorded",
    # the other side of a split: the cases where it is not recorded stay in
    ("no", UNKNOWN): "not trafficked across a border",
    ("yes", UNKNOWN): "not trafficked within their own country",
    (UNKNOWN,): "neither trafficked across a border nor within their own country",
}


def _period(allowed: tuple[str, ...], all_levels: tuple[str, ...]) -> str:
    held, left_out = _named(allowed, all_levels)
    if UNKNOWN in allowed:
        return f"not registered {_join(left_out)}" if left_out else ""
    if not left_out:
        return "registration year recorded"
    if len(left_out) < len(held):
        return f"registered outside {_join(left_out)}"
    return f"registered {_join(held)}"


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
    head = noun
    if "gender" in allowed:
        held, left_out = _named(allowed["gender"], levels["gender"])
        if UNKNOWN not in allowed["gender"]:
            head = _join([_person(children, lv) for lv in held])
        elif left_out:  # "children other than boys": the unrecorded cases stay in
            head = f"{noun} other than {_join([_person(children, lv) for lv in left_out])}"
    age = _age(allowed["age_band"], levels["age_band"]) if "age_band" in allowed else ""
    if age:
        head = f"{head}, {age}" if " other than " in head else f"{head} {age}"
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
    parts = [p.strip() for p in parts if p.strip()]
    if not parts:
        return f"all {noun} in the cohort"
    if "gender" not in allowed and "age_band" not in allowed:
        parts[0] = f"{noun}: {parts[0]}"
    return ", ".join(parts)
