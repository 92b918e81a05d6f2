"""Overlap notes: contrasts whose level and reference level share almost no common ground.

An adjusted odds ratio with no cases behind "the other factors held fixed" is an
extrapolation: the factor table notes it and never labels it.
"""

from __future__ import annotations

import numpy as np

OVERLAP_FLOOR = 0.05
NOT_KNOWN = frozenset({"unknown", "other (fewer than k cases)", "not recorded"})


def overlap_notes(
    codes: np.ndarray,
    levels: dict[str, tuple[str, ...]],
    reference: dict[str, str],
    labels: dict[str, str],
    *,
    k: int,
) -> dict[tuple[str, str], str]:
    """Contrasts with almost no common ground between a level and its reference.

    An adjusted odds ratio holds the other factors fixed; when the cases with a level and the
    cases with its reference share (almost) no known value of another factor (every citizen of
    one region crossed a border, every citizen of the other did not), the comparison "at the
    same value" has no cases behind it and the estimate is an extrapolation. For each level and
    each other factor, the overlap is the sum over that factor's known values of the smaller of
    the two shares; below :data:`OVERLAP_FLOOR` the contrast is noted (and never labelled).

    Parameters
    ----------
    codes
        ``(n_rows, n_factors)`` level index per row, factors in ``levels`` order.
    levels
        Factor -> its levels in code order.
    reference
        Factor -> its reference level.
    labels
        Factor -> its name in words (for the note).
    k
        A side with fewer than ``k`` known values is not judged.

    Examples
    --------
    >>> codes = np.array([[0, 0]] * 20 + [[1, 1]] * 20)
    >>> levels = {"region": ("north", "south"), "border": ("no", "yes")}
    >>> notes = overlap_notes(codes, levels, {"region": "north", "border": "no"},
    ...                       {"region": "region", "border": "crossed a border"}, k=5)
    >>> notes[("region", "south")]
    'no common ground with the reference level in crossed a border (overlap 0%)'
    """
    factors = list(levels)
    out: dict[tuple[str, str], str] = {}
    for a, fa in enumerate(factors):
        ref = levels[fa].index(reference[fa]) if reference.get(fa) in levels[fa] else -1
        if ref < 0:
            continue
        for j, level in enumerate(levels[fa]):
            if j == ref or level in NOT_KNOWN:
                continue
            rows_l, rows_r = codes[:, a] == j, codes[:, a] == ref
            worst: tuple[float, str] | None = None
            for b, fb in enumerate(factors):
                if b == a:
                    continue
                known = [i for i, lv in enumerate(levels[fb]) if lv not in NOT_KNOWN]
                if len(known) < 2:
                    continue
                n_b = len(levels[fb])
                cl = np.bincount(codes[rows_l, b], minlength=n_b)[known]
                cr = np.bincount(codes[rows_r, b], minlength=n_b)[known]
                if cl.sum() < k or cr.sum() < k:
                    continue
                overlap = float(np.minimum(cl / cl.sum(), cr / cr.sum()).sum())
                if overlap < OVERLAP_FLOOR and (worst is None or overlap < worst[0]):
                    worst = (overlap, labels.get(fb, fb))
            if worst is not None:
                out[(fa, level)] = (
                    f"no common ground with the reference level in {worst[1]} "
                    f"(overlap {worst[0]:.0%})"
                )
    return out
