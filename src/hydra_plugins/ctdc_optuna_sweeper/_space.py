"""The search space of an Optuna sweep, read from overrides in Hydra's grammar.

Each ``key=value`` of ``hydra.sweeper.params`` and of the command line becomes one of:

==================================  =================================================
``a,b,c`` / ``choice(a, b, c)``     a categorical parameter (each value as written)
``range(2, 6)``                     integers 2, 3, 4, 5 (Hydra's range: stop excluded)
``range(100, 500, step=100)``       integers 100, 200, 300, 400, as a stepped range
``range(0.1, 0.5, 0.1)``            reals 0.1 to 0.4 in steps of 0.1
``interval(0.1, 1.0)``              a real between the two bounds
``int(interval(1, 10))``            an integer from 1 to 10, both included
``tag(log, interval(...))``         the same on a log scale (also an integer range of step 1)
anything else (``x=3``, ``~x``)     a fixed override passed to every trial as written
==================================  =================================================

A later entry for the same key replaces an earlier one, so the command line overrides the
config's params. The order a sampler reorders (``shuffle``) means nothing to it and is
ignored; ``glob`` and tags other than ``log`` are refused, naming the parameter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import (
    ChoiceSweep,
    IntervalSweep,
    Override,
    RangeSweep,
    Sweep,
    Transformer,
)
from hydra.errors import CompactHydraException
from optuna.distributions import (
    BaseDistribution,
    CategoricalChoiceType,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

LOG = "log"


class SearchSpaceError(CompactHydraException, ValueError):
    """A sweeper parameter that cannot be turned into an Optuna distribution (Hydra prints
    a compact error as one line, without a traceback)."""


@dataclass(frozen=True)
class SearchSpace:
    """What each trial sets: fixed override lines and parameters to sample, in the order the
    keys first appeared."""

    entries: tuple[tuple[str, str | BaseDistribution], ...]

    @property
    def distributions(self) -> dict[str, BaseDistribution]:
        """The parameters Optuna samples, by override key (``model.lightgbm.max_depth``)."""
        return {k: v for k, v in self.entries if isinstance(v, BaseDistribution)}

    @property
    def fixed(self) -> list[str]:
        """The override lines every trial gets unchanged."""
        return [v for _, v in self.entries if isinstance(v, str)]

    def overrides(self, params: Mapping[str, Any]) -> list[str]:
        """The override lines of one trial whose sampled values are ``params``."""
        lines = []
        for key, entry in self.entries:
            lines.append(entry if isinstance(entry, str) else f"{key}={format_value(params[key])}")
        return lines


def format_value(value: Any) -> str:
    """A sampled value as override text: numbers and booleans as Hydra reads them back; a
    categorical choice is kept as its override text already."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def parse_search_space(
    params: Mapping[str, Any] | None, arguments: Iterable[str] = ()
) -> SearchSpace:
    """The search space of ``hydra.sweeper.params`` with the command line's overrides on top.

    Examples
    --------
    >>> space = parse_search_space(
    ...     {"lr": "tag(log, interval(0.01, 0.3))", "depth": "range(2, 6)"}, ["seed=1"]
    ... )
    >>> space.distributions["depth"]
    IntDistribution(high=5, log=False, low=2, step=1)
    >>> space.fixed, space.overrides({"lr": 0.05, "depth": 3})
    (['seed=1'], ['lr=0.05', 'depth=3', 'seed=1'])
    """
    lines = [f"{key}={value}" for key, value in (params or {}).items()]
    lines += list(arguments)
    # One entry a key, where the key first appeared, holding what the last override says.
    entries: dict[str, tuple[str, str | BaseDistribution]] = {}
    for override in OverridesParser.create().parse_overrides(lines):
        key = override.get_key_element()
        entries[key.lstrip("+~")] = (key, _entry(override, key))
    return SearchSpace(tuple(entries.values()))


def _entry(override: Override, key: str) -> str | BaseDistribution:
    if not override.is_sweep_override():
        return str(override.input_line)
    value = override.value()
    tags = set(value.tags) if isinstance(value, Sweep) else set()
    unknown = tags - {LOG}
    if unknown:
        raise SearchSpaceError(
            f"sweeper parameter {key!r} ({override.input_line}) has the tag(s) "
            f"{', '.join(sorted(unknown))}; the only tag the sweeper reads is 'log'."
        )
    log = LOG in tags
    if isinstance(value, ChoiceSweep):
        if log:
            raise SearchSpaceError(
                f"sweeper parameter {key!r} ({override.input_line}): a choice has no scale; "
                "tag(log, ...) goes with interval() or range()."
            )
        return CategoricalDistribution(_choices(override, key))
    if isinstance(value, RangeSweep):
        return _range(override, value, key, log)
    if isinstance(value, IntervalSweep):
        return _interval(override, value, key, log)
    raise SearchSpaceError(
        f"sweeper parameter {key!r} ({override.input_line}) is not a search space the sweeper "
        "can sample (use choice(), range() or interval(); list the options of a glob)."
    )


def _choices(override: Override, key: str) -> list[CategoricalChoiceType]:
    choices: list[CategoricalChoiceType] = []
    value = override.value()
    assert isinstance(value, ChoiceSweep)
    for item in value.list:  # as listed: shuffle() would make the sampling unrepeatable
        # Numbers and booleans stay typed (so the results read 0.5, not "0.5"); any other
        # value is kept as its override text, quoted and escaped as Hydra writes it.
        if item is None or isinstance(item, bool | int | float):
            choices.append(item)
        else:
            choices.append(Transformer.str(item))
    # Optuna finds a choice by equality, and 1 == 1.0 == True: such choices would be one.
    if any(a == b for i, a in enumerate(choices) for b in choices[i + 1 :]):
        raise SearchSpaceError(
            f"sweeper parameter {key!r} ({override.input_line}) lists one value twice "
            "(to Optuna 1, 1.0 and true are the same)."
        )
    return choices


def _range(override: Override, value: RangeSweep, key: str, log: bool) -> BaseDistribution:
    values = list(value.range())  # as listed: shuffle() changes no bound
    if not values:
        raise SearchSpaceError(f"sweeper parameter {key!r} ({override.input_line}) is empty.")
    low, high, step = min(values), max(values), abs(value.step)
    try:
        if all(isinstance(v, int) for v in values):
            if log and step != 1:
                raise ValueError("a log-scaled range takes whole steps of 1")
            return IntDistribution(int(low), int(high), log=log, step=1 if log else int(step))
        if log:
            raise ValueError("a log-scaled range of real numbers has no step: use interval()")
        return FloatDistribution(float(low), float(high), step=float(step))
    except ValueError as exc:
        raise SearchSpaceError(
            f"sweeper parameter {key!r} ({override.input_line}): {exc}"
        ) from None


def _interval(override: Override, value: IntervalSweep, key: str, log: bool) -> BaseDistribution:
    start, end = value.start, value.end
    assert start is not None and end is not None  # the grammar requires both
    try:
        if isinstance(start, int) and isinstance(end, int):  # int(interval(a, b))
            return IntDistribution(start, end, log=log)
        return FloatDistribution(float(start), float(end), log=log)
    except ValueError as exc:
        raise SearchSpaceError(
            f"sweeper parameter {key!r} ({override.input_line}): {exc}"
        ) from None
