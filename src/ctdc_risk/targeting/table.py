"""Build the targeting table: profiles with held-out rates, lift and coverage, and the gain curve.

Honest figures come from cross-fitting over the study's own folds: in each fold the profiles are
learnt again on the training rows only, and measured on the held-out rows.

- The table's rows are the profiles learnt on every case, in order of their rate. For each, the
  fold's version of the profile is the fold profile holding mostly the same cases (Jaccard
  overlap above one half over the cohort); its held-out cases give the row's held-out rate,
  lift and coverage, and ``folds_found`` says in how many folds it was learnt again. A profile
  no fold learnt again has no held-out figures: it rests on chance more than on the data.
- The cumulative columns and the gain curve follow what a program would do: take each fold's
  profiles in order of their training rate and count the held-out cases they reach, pooled over
  folds by rank.

The training figures (the same profiles on the rows they were learnt from) stay beside the
held-out ones: the lift shrinkage (training lift minus held-out lift) is how much of a profile's
concentration does not carry over to cases not used to learn it.

Does the targeting travel? The same cross-fitting is repeated with folds grouped by country of
citizenship and on a temporal split (the splits of :mod:`ctdc_risk.transport`, passed in as
``transport``): each scheme gets its own leading-profile figures, and each profile its held-out
lift under each scheme. Summaries quote the most conservative scheme.

Every published rate, lift and coverage rests on at least k cases with and k without the
outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from functools import partial

import numpy as np
import pandas as pd

from ctdc_risk.errors import StudyError
from ctdc_risk.targeting.crossfit import CrossFit, cross_fit, summarise_scheme
from ctdc_risk.targeting.profiles import (
    ProfileTree,
    TargetingSpec,
    learn_profiles,
    min_profile_size,
    targeting_factors,
)

# cli.console imports TargetingTable and SCHEME_WORDS from here.
from ctdc_risk.targeting.results import SCHEME_WORDS as SCHEME_WORDS
from ctdc_risk.targeting.results import HeldOut, TargetingRow
from ctdc_risk.targeting.results import TargetingTable as TargetingTable
from ctdc_risk.targeting.wording import describe_profile

log = logging.getLogger(__name__)


def build_targeting_table(
    frame: pd.DataFrame,
    y: np.ndarray,
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    spec: TargetingSpec,
    leakage: Sequence[str],
    k: int,
    positive_only: bool,
    transport: Mapping[str, tuple[Sequence[tuple[np.ndarray, np.ndarray]], str]] | None = None,
    on_fold: Callable[[], None] | None = None,
) -> TargetingTable:
    """Learn profiles, measure them on held-out folds, and build the targeting table.

    Parameters
    ----------
    splits
        The study's own (train, test) folds: the table's held-out figures.
    transport
        Scheme name (``country``, ``temporal``) -> (its splits, how cases were held out); empty
        splits with the reason when the scheme could not be made. Each made scheme is
        cross-fitted the same way; its leading profiles' figures and every profile's lift under
        it join the table.
    on_fold
        Called after each fold of the study's own splits is learnt and measured (progress).

    Raises
    ------
    StudyError
        None of the configured factors is usable (all leak the target or are not recorded).
    """
    factors = targeting_factors(spec, leakage=leakage, frame=frame)
    left_out = tuple(f for f in spec.factors if f not in {x.name for x in factors})
    if not factors:
        raise StudyError(
            f"targeting.factors: none of {', '.join(spec.factors)} can describe a profile "
            "here (each leaks the target or is not recorded); choose others or set "
            "targeting=off."
        )
    if left_out:
        log.info("targeting: left out %s (leak the target or not recorded)", ", ".join(left_out))
    learn = partial(learn_profiles, factors=factors, spec=spec, k=k, positive_only=positive_only)
    final = learn(frame, y)
    members = final.assign(frame)
    m = len(final.profiles)
    fit = cross_fit(frame, y, splits, learn, members, m, on_fold)
    default, groups = summarise_scheme(
        "default", f"{len(splits)} folds of the study's cross-validation", fit, k=k, top=spec.top
    )
    if len(groups) < m:
        log.info("targeting: %d ranks pooled into %d (held-out counts under k)", m, len(groups))
    schemes, moved = [default], {}
    for name, (scheme_splits, note) in (transport or {}).items():
        other = cross_fit(frame, y, scheme_splits, learn, members, m) if scheme_splits else None
        schemes.append(summarise_scheme(name, note, other, k=k, top=spec.top)[0])
        moved[name] = None if other is None else _held_out(other, k)
    rows = _rows(final, frame, fit, groups, moved, k=k)
    log.info(
        "targeting: %d profiles from %s (%d cases, %d folds; %d learnt again in every fold); "
        "top-%d held-out lift %s",
        m, ", ".join(f.name for f in factors), len(y), len(splits),
        int((fit.found == len(splits)).sum()), spec.top,
        ", ".join(f"{s.lift:.2f} ({SCHEME_WORDS.get(s.scheme, s.scheme)})"
                  for s in schemes if s.lift is not None),
    )  # fmt: skip
    return TargetingTable(
        rows=rows,
        factors=tuple(f.name for f in factors),
        left_out=left_out,
        folds=len(splits),
        n_cases=default.n_cases,
        n_positive=default.n_positive,
        spec=spec,
        k=k,
        min_size=min_profile_size(spec, k),
        schemes=tuple(schemes),
    )


def _held_out(fit: CrossFit, k: int) -> list[HeldOut | None]:
    """Each final profile's held-out figures in ``fit``; None where no fold learnt it again or
    its held-out counts fall under k on either side."""
    out: list[HeldOut | None] = []
    for p in range(len(fit.found)):
        n, pos, tn, tpos = (int(v) for v in fit.by_profile[p])
        if fit.found[p] and min(pos, n - pos) >= k:
            out.append(
                HeldOut(n, pos, tn, tpos, *(int(v) for v in fit.heldout_totals[p]),
                        *(int(v) for v in fit.training_totals[p]))
            )  # fmt: skip
        else:
            out.append(None)
    return out


def _rows(
    final: ProfileTree,
    frame: pd.DataFrame,
    fit: CrossFit,
    groups: list[list[int]],
    moved: Mapping[str, list[HeldOut | None] | None],
    *,
    k: int,
) -> tuple[TargetingRow, ...]:
    children = bool(frame["is_child"].fillna(False).all())
    levels = final.encoder.levels_
    total_n, total_pos = (int(v) for v in fit.by_rank.sum(axis=0))
    cumulative: dict[int, tuple[float, float]] = {}
    reached = np.cumsum(fit.by_rank, axis=0)
    for g in groups:
        n, pos = (int(v) for v in reached[g[-1]])
        cumulative[g[-1]] = (pos / total_pos, n / total_n)
    heldout = _held_out(fit, k)
    rows = []
    for p, profile in enumerate(final.profiles):
        elsewhere = []
        for name, figures in moved.items():
            there = None if figures is None else figures[p]
            elsewhere.append((name, None if there is None else there.lift))
        h = heldout[p]
        rows.append(
            TargetingRow(
                rank=p + 1,
                profile=describe_profile(profile.conditions, levels, children=children),
                conditions=profile.conditions,
                n_cases=int(final.train_n[p]),
                folds_found=int(fit.found[p]),
                heldout=h,
                lift=None if h is None else h.lift,
                cumulative=cumulative.get(p),
                transport_lift=tuple(elsewhere),
            )
        )
    return tuple(rows)
