"""Profiles: a shallow tree over before-recruitment factor levels, read back as plain segments.

A program designer decides whom a program reaches, and can only use what is visible before
recruitment: age band, gender, citizenship, whether the route crosses a border, the period.
:func:`learn_profiles` fits a shallow decision tree on those factors' one-hot levels (levels
learnt from the training rows, rare levels pooled under the privacy floor, "unknown" its own
level) and turns every leaf into a :class:`Profile`: for each factor the levels it allows.

A split always names a recorded level ("aged 0-8"); the cases where that factor is not recorded
stay with the other side ("not aged 0-8"), and a split is never made on "not recorded" itself,
nor one that would leave a side holding only unrecorded cases. So no profile is defined by a
characteristic being missing, and none differs from another only in whether it was recorded.

Every profile holds at least ``min_cases`` cases, and at least ``k`` with and ``k`` without
the outcome on the rows it was learnt from: a leaf that falls short is merged back into its
sibling (the parent becomes the leaf), so a profile's rate and coverage can always be
published without revealing a small count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ctdc_risk.encoding import UNKNOWN, FactorEncoder, factor_codes
from ctdc_risk.errors import ConfigError
from ctdc_risk.features import FACTORS, Factor, leak_reason, reason_from_patterns
from ctdc_risk.validate import Check, Constraints, Interval, ListOf, from_mapping

ALLOWED_FACTORS = (
    "age_band",
    "gender",
    "citizenship_subregion",
    "cross_border",
    "registration_period",
)
"""Factors a profile may use: what a program can see before recruitment, and the registration
period. The catalogue files the period under registration context (exploitation phase); it is
allowed here as the one time factor, saying when cases were found (``targeting=with_period``)."""
DEFAULT_FACTORS = ("age_band", "gender", "citizenship_subregion", "cross_border")
MAX_DEPTH = 6


@dataclass(frozen=True)
class ProfileFactor(Check):
    """A factor in :data:`ALLOWED_FACTORS`; the error says why another one cannot be used."""

    names_value: ClassVar[bool] = True

    def _describe(self) -> str:
        return f"one of {', '.join(ALLOWED_FACTORS)}"

    def __call__(self, value: object, key: str) -> object:
        if isinstance(value, str) and value in ALLOWED_FACTORS:
            return value
        phase = FACTORS[value].phase if isinstance(value, str) and value in FACTORS else None
        article = "an" if phase and phase[0] in "aeiou" else "a"
        why = (
            f"it is {article} {phase.replace('_', ' ')}-phase factor, not visible before "
            "recruitment"
            if phase
            else "there is no such factor"
        )
        raise ConfigError(
            f"{key}: {value!r} cannot describe a profile ({why}); allowed factors are "
            f"{', '.join(ALLOWED_FACTORS)}."
        )


@dataclass(frozen=True)
class TargetingSpec:
    """How prevention-targeting profiles are learnt.

    Attributes
    ----------
    enabled : bool
        Learn profiles after the factor study.
    factors : tuple of str
        Factors profiles may use; only those in :data:`ALLOWED_FACTORS` (no means of control,
        type of exploitation or other exploitation-phase factor). The target's leakage
        columns are left out.
    max_depth : int
        Deepest combination of conditions in one profile (3 by default: synthetic CTDC releases
        only preserve short attribute combinations).
    min_cases : int
        Fewest cases in a profile (never fewer than the privacy floor k).
    top : int
        How many leading profiles the summary figures (``targeting/top3_coverage``) count.

    Examples
    --------
    >>> TargetingSpec.from_mapping({"max_depth": 2}).factors
    ('age_band', 'gender', 'citizenship_subregion', 'cross_border')
    """

    _constraints: ClassVar[Constraints] = {
        "factors": ListOf(
            ProfileFactor(), min_len=1, duplicates="drop", example=",".join(DEFAULT_FACTORS)
        ),
        "max_depth": Interval(
            int,
            1,
            MAX_DEPTH,
            why="Longer combinations of characteristics are not preserved by synthetic releases "
            "and make profiles no program can act on.",
        ),
        "min_cases": Interval(int, 1, None),
        "top": Interval(int, 1, None),
    }
    enabled: bool = True
    factors: tuple[str, ...] = DEFAULT_FACTORS
    max_depth: int = 3
    min_cases: int = 50
    top: int = 3

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, key: str = "targeting") -> TargetingSpec:
        return from_mapping(cls, data, key)


def targeting_factors(
    spec: TargetingSpec, *, leakage: Sequence[str], frame: pd.DataFrame
) -> tuple[Factor, ...]:
    """The spec's factors that do not leak the target and are recorded in ``frame``."""
    chosen = []
    leakage_reason = reason_from_patterns(leakage)
    for name in spec.factors:
        factor = FACTORS[name]
        if leak_reason(factor, leakage_reason):
            continue
        if name in frame and frame[name].notna().any():
            chosen.append(factor)
    return tuple(chosen)


@dataclass(frozen=True)
class Profile:
    """One segment of cases: for each restricted factor, the levels it allows."""

    conditions: tuple[tuple[str, tuple[str, ...]], ...]
    """``(factor, allowed levels)`` in the order of the factors; unrestricted factors absent."""

    @property
    def key(self) -> str:
        """A canonical text of the conditions, equal for equal profiles from different fits."""
        return "; ".join(f"{f}={'|'.join(sorted(levels))}" for f, levels in self.conditions)


@dataclass(frozen=True)
class Split:
    """An inner node of the profile tree: rows with ``column`` set go right."""

    column: int
    left: int
    right: int


@dataclass(frozen=True)
class ProfileTree:
    """Profiles learnt on some rows, able to place any rows of the same cohort."""

    encoder: FactorEncoder
    nodes: tuple[Split | int, ...]
    """Node 0 is the root; an ``int`` node is a leaf holding that index into ``profiles``."""
    profiles: tuple[Profile, ...]
    """Ordered by outcome rate on the rows they were learnt from, highest first."""
    train_n: np.ndarray
    train_positive: np.ndarray

    def assign(self, frame: pd.DataFrame) -> np.ndarray:
        """The profile index of every row of ``frame``.

        A row whose level of a factor was never seen where the tree was learnt (a country
        held out with its whole sub-region) matches none of that factor's levels: it follows
        the other side of every split on that factor, as an unrecorded value does, instead of
        being scored as the encoder's reference level.
        """
        X = _dense(self.encoder.transform(frame))
        start = 0
        for name, kind in self.encoder.factors:
            width = len(self.encoder.levels_[name])
            codes, labels = factor_codes(frame, name, kind, self.encoder.positive_only)
            unseen = np.array([lb not in self.encoder.mapping_[name] for lb in labels])
            X[unseen[codes], start : start + width] = False
            start += width
        out = np.empty(len(frame), dtype=np.int64)

        def route(node: int, rows: np.ndarray) -> None:
            split = self.nodes[node]
            if isinstance(split, int):
                out[rows] = split
                return
            on = X[rows, split.column]
            route(split.left, rows[~on])
            route(split.right, rows[on])

        route(0, np.arange(len(frame)))
        return out


def min_profile_size(spec: TargetingSpec, k: int) -> int:
    """The fewest cases a profile may hold: the configured minimum, never below k."""
    return max(spec.min_cases, k)


def learn_profiles(
    frame: pd.DataFrame,
    y: np.ndarray,
    factors: tuple[Factor, ...],
    *,
    spec: TargetingSpec,
    k: int,
    positive_only: bool,
) -> ProfileTree:
    """Grow the profile tree on ``frame`` and read its leaves back as profiles.

    A greedy binary tree on the one-hot levels, split by information gain (as CART with the
    entropy criterion), up to ``spec.max_depth``. A split names a recorded level; the
    unrecorded cases follow the other side. The gain is read on the cases where the split's
    factor is recorded (equal gains, as when naming either level of a two-level factor, go to
    the split whose sides differ most with the unrecorded cases counted). A split is allowed
    only if both sides hold at least :func:`min_profile_size` cases and at least ``k`` cases
    with and ``k`` without the outcome, so every profile can be published. Remaining ties go to
    the first column, so the same rows give the same tree.
    """
    encoder = FactorEncoder(
        tuple((f.name, f.kind) for f in factors), min_count=k, positive_only=positive_only
    ).fit(frame)
    X = _dense(encoder.transform(frame))
    y = np.asarray(y, dtype=bool)
    grower = _Grower(X, y, encoder, depth=spec.max_depth, min_size=min_profile_size(spec, k), k=k)
    grower.grow(np.arange(len(y)), 0, {})
    leaves = grower.leaves  # (node id, rows, conditions)
    n = np.array([len(rows) for _, rows, _ in leaves], dtype=np.int64)
    positive = np.array([int(y[rows].sum()) for _, rows, _ in leaves], dtype=np.int64)
    profiles = [Profile(_ordered(cond, encoder)) for _, _, cond in leaves]
    # Highest rate first; ties by size, then by the conditions' text (same bytes every run).
    order = sorted(range(len(leaves)), key=lambda i: (-positive[i] / n[i], -n[i], profiles[i].key))
    rank = {leaves[i][0]: r for r, i in enumerate(order)}
    nodes = tuple(rank[i] if node is None else node for i, node in enumerate(grower.nodes))
    return ProfileTree(
        encoder=encoder,
        nodes=nodes,
        profiles=tuple(profiles[i] for i in order),
        train_n=n[order],
        train_positive=positive[order],
    )


def _dense(X: Any) -> np.ndarray:
    out: np.ndarray = X.toarray().astype(bool) if hasattr(X, "toarray") else X.astype(bool)
    return out


def _ordered(
    conditions: dict[str, tuple[str, ...]], encoder: FactorEncoder
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(
        (name, conditions[name])
        for name, _ in encoder.factors
        if name in conditions and conditions[name] != encoder.levels_[name]
    )


def _entropy(pos: np.ndarray, n: np.ndarray) -> np.ndarray:
    p = np.divide(pos, n, out=np.zeros(pos.shape, dtype=np.float64), where=n > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
    out: np.ndarray = np.nan_to_num(h)
    return out


class _Grower:
    """Grows the tree depth first; ``nodes[i]`` is a :class:`Split` or None for a leaf."""

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        encoder: FactorEncoder,
        *,
        depth: int,
        min_size: int,
        k: int,
    ) -> None:
        self.X, self.y, self.encoder = X, y, encoder
        self.depth, self.min_size, self.k = depth, min_size, k
        self.nodes: list[Split | None] = []
        # Per column, the column of its factor's unknown level (-1: none).
        where = {(c.factor, c.level): i for i, c in enumerate(encoder.columns_)}
        self.unknown_column = np.array(
            [where.get((c.factor, UNKNOWN), -1) for c in encoder.columns_], dtype=np.int64
        )
        self.leaves: list[tuple[int, np.ndarray, dict[str, tuple[str, ...]]]] = []

    def grow(self, rows: np.ndarray, depth: int, conditions: dict[str, tuple[str, ...]]) -> int:
        node = len(self.nodes)
        self.nodes.append(None)
        column = self._best_split(rows, conditions) if depth < self.depth else None
        if column is None:
            self.leaves.append((node, rows, conditions))
            return node
        on = self.X[rows, column]
        factor, level, levels = self._level(column, conditions)
        rest = tuple(lv for lv in levels if lv != level)
        left = self.grow(rows[~on], depth + 1, {**conditions, factor: rest})
        right = self.grow(rows[on], depth + 1, {**conditions, factor: (level,)})
        self.nodes[node] = Split(column, left, right)
        return node

    def _best_split(self, rows: np.ndarray, conditions: dict[str, tuple[str, ...]]) -> int | None:
        X, y = self.X[rows], self.y[rows]
        n, pos = len(rows), int(y.sum())
        n_on = X.sum(axis=0).astype(np.int64)
        pos_on = X[y].sum(axis=0).astype(np.int64)
        n_off, pos_off = n - n_on, pos - pos_on
        ok = (
            self._nameable(conditions)
            & (np.minimum(n_on, n_off) >= self.min_size)
            & (np.minimum(pos_on, pos_off) >= self.k)
            & (np.minimum(n_on - pos_on, n_off - pos_off) >= self.k)
        )
        if not ok.any():
            return None
        # The gain is read on the cases where the split's factor is recorded: a level is split
        # off for how it differs from the other recorded levels, never for the rate of the
        # unrecorded cases that follow the other side (that would condition on "not recorded"
        # by the back door). In bits over the whole node, so factors compare.
        has = self.unknown_column >= 0
        n_rec = n - np.where(has, n_on[self.unknown_column], 0)
        pos_rec = pos - np.where(has, pos_on[self.unknown_column], 0)
        rec_off, rec_off_pos = n_rec - n_on, pos_rec - pos_on
        gain = (
            n_rec * _entropy(pos_rec, n_rec)
            - n_on * _entropy(pos_on, n_on)
            - rec_off * _entropy(rec_off_pos, rec_off)
        ) / n
        gain[~ok] = -np.inf
        # Equal recorded gains (naming either level of a two-level factor) go to the split whose
        # two sides, unrecorded cases included, differ most; then to the first column.
        parent = _entropy(np.array([pos]), np.array([n]))[0]
        whole = parent - (n_on * _entropy(pos_on, n_on) + n_off * _entropy(pos_off, n_off)) / n
        whole[gain < gain.max() - 1e-9] = -np.inf
        best = int(np.argmax(whole))
        return best if gain[best] > 1e-12 else None

    def _nameable(self, conditions: dict[str, tuple[str, ...]]) -> np.ndarray:
        """Columns a split may use here: a recorded level, leaving a recorded level beside it.

        The condition side of a split is always a case-describing level; the rows where the
        factor is not recorded follow the other side, which must keep some recorded level too.
        So no profile is ever "age not recorded" or "citizenship recorded".
        """
        ok = np.zeros(len(self.encoder.columns_), dtype=bool)
        for i, encoded in enumerate(self.encoder.columns_):
            if encoded.level == UNKNOWN:
                continue
            allowed = conditions.get(encoded.factor, self.encoder.levels_[encoded.factor])
            ok[i] = any(lv not in (encoded.level, UNKNOWN) for lv in allowed)
        return ok

    def _level(
        self, column: int, conditions: dict[str, tuple[str, ...]]
    ) -> tuple[str, str, tuple[str, ...]]:
        encoded = self.encoder.columns_[column]
        levels = conditions.get(encoded.factor, self.encoder.levels_[encoded.factor])
        return encoded.factor, encoded.level, levels
