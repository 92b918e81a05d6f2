"""What every model build receives from the study besides its own settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ModelSetup:
    """The study's side of a model build.

    Attributes
    ----------
    factor_kinds
        ``(factor name, kind)`` of each covariate, in model order.
    k
        Privacy floor: rare levels are pooled below it and no tree leaf holds fewer records.
    positive_only
        Whether flags are positive-only (blank is "not recorded", not "no").
    seed
        Seed of the model's own randomness.
    reference
        Reference level per factor (the encoder's documented rule where absent).
    """

    factor_kinds: tuple[tuple[str, str], ...]
    k: int
    positive_only: bool
    seed: int
    reference: Mapping[str, str] | None = None
