"""Who counts as a child: at registration, at exploitation, or either.

CTDC records a victim's age band and majority status when the case was registered, and, in
some releases, whether the victim was a minor when the exploitation took place. Child-trafficking
research counts a victim as a child when they were a minor while being exploited: many were
registered as adults years later (1,384 records of the 2021 synthetic release were minors when
exploited but adults at registration). The rule is a setting, ``data.child_rule``:

``exploitation`` (default)
    minor at exploitation where that is recorded; otherwise the status at registration (a
    minor when registered was a minor when exploited);
``registration``
    age band at registration, else majority status at registration;
``either``
    a child by either rule.

A case none of whose fields says is neither child nor adult (unknown).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ctdc_risk.data.schema import CHILD_AGE_BANDS, CHILD_STATUS_SOURCES, categorical

CHILD_RULES: tuple[str, ...] = ("exploitation", "registration", "either")
DEFAULT_CHILD_RULE = "exploitation"


def _status(col: pd.Series | None, child: frozenset[str]) -> tuple[np.ndarray, np.ndarray]:
    """(known, is_child) arrays for one column."""
    if col is None:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
    return col.notna().to_numpy(), col.isin(child).to_numpy()


def child_status(frame: pd.DataFrame, rule: str) -> tuple[pd.Series, pd.Series]:
    """``is_child`` (nullable boolean) and ``child_status_source`` under ``rule``.

    Examples
    --------
    >>> frame = pd.DataFrame({
    ...     "age_band": pd.Categorical(["18--20", "9--17", None]),
    ...     "majority_status": pd.Categorical([None, None, None]),
    ...     "majority_status_at_exploit": pd.Categorical(["minor", None, "adult"]),
    ... })
    >>> [bool(v) if v is not pd.NA else None for v in child_status(frame, "registration")[0]]
    [False, True, None]
    >>> [bool(v) if v is not pd.NA else None for v in child_status(frame, "exploitation")[0]]
    [True, True, False]
    """
    if rule not in CHILD_RULES:
        raise ValueError(f"child rule must be one of {', '.join(CHILD_RULES)}; got {rule!r}")
    n = len(frame)
    age_known, age_child = _status(frame.get("age_band"), CHILD_AGE_BANDS)
    ms_known, ms_child = _status(frame.get("majority_status"), frozenset({"minor"}))
    ex_known, ex_child = _status(frame.get("majority_status_at_exploit"), frozenset({"minor"}))
    empty = np.zeros(n, dtype=bool)
    age_known, age_child = (age_known, age_child) if len(age_known) else (empty, empty)
    ms_known, ms_child = (ms_known, ms_child) if len(ms_known) else (empty, empty)
    ex_known, ex_child = (ex_known, ex_child) if len(ex_known) else (empty, empty)
    # At registration: the age band first, then the majority status.
    reg_known = age_known | ms_known
    reg_child = np.where(age_known, age_child, ms_child)
    reg_source = np.where(age_known, 0, np.where(ms_known, 1, -1))
    if rule == "registration":
        known, child, source = reg_known, reg_child, reg_source
    elif rule == "exploitation":
        known = ex_known | reg_known
        child = np.where(ex_known, ex_child, reg_child)
        source = np.where(ex_known, 2, reg_source)
    else:  # either
        known = ex_known | reg_known
        child = (ex_known & ex_child) | (reg_known & reg_child)
        source = np.where(ex_known & ex_child, 2, np.where(reg_known, reg_source, 2))
    is_child = pd.Series(pd.arrays.BooleanArray(child & known, ~known), index=frame.index)
    src = categorical(np.where(known, source, -1), CHILD_STATUS_SOURCES)
    return is_child, pd.Series(src.array, index=frame.index)


def apply_child_rule(frame: pd.DataFrame, rule: str) -> pd.DataFrame:
    """A copy of ``frame`` whose ``is_child`` and ``child_status_source`` follow ``rule``."""
    is_child, source = child_status(frame, rule)
    out = frame.copy()
    out["is_child"] = is_child
    out["child_status_source"] = source
    return out
