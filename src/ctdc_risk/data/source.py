"""The configured data source: where the cases come from, and loading them as one dataset.

``data.source`` is ``synthetic`` (the built-in generator) or ``file`` (a CTDC release read by
:func:`~ctdc_risk.data.load.load_dataset`); either way the study sees a canonical
:class:`~ctdc_risk.data.load.Dataset` whose children follow ``data.child_rule``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import ClassVar

from ctdc_risk.data.child_status import (
    CHILD_RULES,
    DEFAULT_CHILD_RULE,
    apply_child_rule,
    child_status,
)
from ctdc_risk.data.columns import check_column_targets
from ctdc_risk.data.io import DEFAULT_MAX_BYTES
from ctdc_risk.data.load import Dataset, load_dataset, load_synthetic
from ctdc_risk.data.synthetic import MAX_ROWS, MIN_ROWS
from ctdc_risk.errors import ConfigError
from ctdc_risk.validate import Constraints, Interval, MappingOf, Options, OrNone, Text, check_fields

log = logging.getLogger(__name__)
DATA_SOURCES = ("synthetic", "file")


@dataclass(frozen=True)
class DataSpec:
    """Where the data comes from and how to read it."""

    _constraints: ClassVar[Constraints] = {
        "source": Options(DATA_SOURCES),
        "path": OrNone(Text(), why="Choose the file with data=ctdc data.path=FILE."),
        "max_bytes": Interval(int, 1, None),
        "child_rule": Options(CHILD_RULES, "a child when exploited, when registered, or by either"),
        "columns": OrNone(MappingOf()),  # names checked by check_column_targets
    }
    source: str = "synthetic"
    path: str | None = None
    n_rows: int = 50_000
    seed: int | None = None
    encoding: str = "auto"
    delimiter: str = "auto"
    sheet: str | int | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    child_rule: str = DEFAULT_CHILD_RULE
    """Who is a child: ``exploitation`` (minor when exploited, where recorded), ``registration``
    or ``either`` (see :mod:`ctdc_risk.data.child_status`)."""
    columns: dict[str, str] | None = None
    """Your own column names: ``{name in the file: CTDC name}`` (see
    :mod:`ctdc_risk.data.columns`)."""

    def __post_init__(self) -> None:
        check_fields(self, "data")
        if self.columns:
            if self.source != "file":
                raise ConfigError(
                    "data.columns renames the columns of a file: use it with data=ctdc "
                    "data.path=FILE."
                )
            check_column_targets(self.columns)
        if self.source == "file" and not self.path:
            raise ConfigError(
                "data.path is not set: choose the CTDC file with data=ctdc data.path=FILE."
            )
        if self.source == "synthetic" and not MIN_ROWS <= self.n_rows <= MAX_ROWS:
            raise ConfigError(
                f"data.n_rows must be from {MIN_ROWS:,} to {MAX_ROWS:,}; got {self.n_rows:,}."
            )


def load_data(spec: DataSpec, *, seed: int, k: int) -> Dataset:
    """Load the configured data source as a canonical :class:`Dataset`, children by its rule."""
    if spec.source == "synthetic":
        dataset = load_synthetic(
            spec.n_rows, seed=spec.seed if spec.seed is not None else seed, k=k
        )
    else:
        assert spec.path is not None  # checked by DataSpec
        dataset = load_dataset(
            spec.path,
            encoding=spec.encoding,
            delimiter=spec.delimiter,
            sheet=spec.sheet,
            max_bytes=spec.max_bytes,
            k=k,
            columns=spec.columns,
        )
    frame = apply_child_rule(dataset.frame, spec.child_rule)
    log.info(
        "children by the %r rule: %d (registration rule: %d)",
        spec.child_rule,
        int(frame["is_child"].fillna(False).sum()),
        int(child_status(dataset.frame, "registration")[0].fillna(False).sum()),
    )
    return replace(dataset, frame=frame)
