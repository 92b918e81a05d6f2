"""The checks a spec declares for its fields: one small class per kind of constraint (a type,
an interval, options, a rule, text, lists, mappings, None or any of several), each naming the
key and the value it refuses.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import ClassVar, Literal

from ctdc_risk.errors import ConfigError


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate nearest to ``word`` (difflib similarity of at least 0.6), or None.

    >>> closest("max_dpth", ["max_depth", "min_cases"])
    'max_depth'
    """
    found = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


def shown(value: object) -> str:
    # A long list in a message would push the key out of a one-line error.
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def sentence(text: str, *advice: str) -> str:
    end = "" if text.endswith("?") else "."
    return " ".join([text + end, *filter(None, advice)])


def _yaml(value: object) -> str:
    # Options are written as the config writes them: null, true, false.
    if value is None:
        return "null"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _is(value: object, kind: type) -> bool:
    # bool is an int subclass, but `n_splits: true` in a config is a mistake, not 1; an integer
    # is a fine number (`alpha: 0`).
    if isinstance(value, bool):
        return kind is bool
    return isinstance(value, int | float) if kind is float else isinstance(value, kind)


@dataclasses.dataclass(frozen=True)
class Check:
    """No constraint, and the base of all: ``check(value, key)`` returns the value (converted
    where the check says so) or raises ConfigError naming ``key``. ``what`` replaces the
    generated description ("a positive integer"); ``why`` is advice added to every message."""

    what: str | None = dataclasses.field(default=None, kw_only=True)
    why: str = dataclasses.field(default="", kw_only=True)
    names_value: ClassVar[bool] = False  # a failure quotes the value: a list item needs no index

    def describe(self) -> str:
        """A noun phrase for the values this check accepts."""
        return self.what or self._describe()

    def _describe(self) -> str:
        return "a value"

    def __call__(self, value: object, key: str) -> object:
        return value

    def error(self, key: str, value: object, what: str | None = None) -> ConfigError:
        """``<key> must be <what>; got <value>. <why>``"""
        got = f"{key} must be {what or self.describe()}; got {shown(value)}"
        return ConfigError(sentence(got, self.why))

    def refused(self, key: str, value: object, problem: str, near: str | None) -> ConfigError:
        """``<key>: <value> <problem>; did you mean <near>? <why>``"""
        hint = f"; did you mean {near}?" if near else ""
        return ConfigError(sentence(f"{key}: {shown(value)} {problem}{hint}", self.why))


Constraints = Mapping[str, Check]


@dataclasses.dataclass(frozen=True)
class Is(Check):
    """A value of one type: ``bool``, ``int`` (never a bool), ``float`` (an int too), ``str``."""

    kind: type

    def _describe(self) -> str:
        names = {bool: "true or false", int: "an integer", float: "a number", str: "a text"}
        return names.get(self.kind, f"a {self.kind.__name__}")

    def __call__(self, value: object, key: str) -> object:
        if not _is(value, self.kind):
            raise self.error(key, value)
        return value


@dataclasses.dataclass(frozen=True)
class Interval(Check):
    """An ``int`` or ``float`` within bounds (None: unbounded); integer bounds are inclusive."""

    kind: type[int] | type[float]
    low: float | None
    high: float | None
    closed: Literal["both", "left", "right", "neither"] = "both"

    def _closed(self, low: bool) -> bool:
        return self.kind is int or self.closed in ("both", "left" if low else "right")

    def _bound(self, low: bool) -> str:
        if low:
            return f"{'at least' if self._closed(True) else 'above'} {self.low}"
        return f"{'at most' if self._closed(False) else 'below'} {self.high}"

    def _describe(self) -> str:
        if self.kind is int and self.high is None and self.low in (0, 1):
            return "a non-negative integer" if self.low == 0 else "a positive integer"
        if self.kind is float and self.low == 0 and self.high is None and not self._closed(True):
            return "a positive number"
        noun = "an integer" if self.kind is int else "a number"
        if None not in (self.low, self.high) and self._closed(True) and self._closed(False):
            return f"{noun} from {self.low} to {self.high}"
        present = ((True, self.low), (False, self.high))
        bounds = [self._bound(low) for low, bound in present if bound is not None]
        of = " of" if bounds and bounds[0].startswith("at") else ""  # "an integer of at least 2"
        return " and ".join([" ".join([noun + of, *bounds[:1]]), *bounds[1:]])

    def __call__(self, value: object, key: str) -> object:
        if not _is(value, self.kind) or not isinstance(value, int | float) or math.isnan(value):
            raise self.error(key, value)
        for low, bound in ((True, self.low), (False, self.high)):
            if bound is None or (value > bound if low else value < bound):
                continue
            if value == bound and self._closed(low):
                continue
            # With two bounds, name the one crossed, then the whole range.
            both = None not in (self.low, self.high)
            raise self.error(
                key, value, f"{self._bound(low)} ({self.describe()})" if both else None
            )
        return value


@dataclasses.dataclass(frozen=True)
class Options(Check):
    """One of a few values (a set is listed sorted); a misspelt text gets the nearest option.

    ``meaning`` explains the options in a few words, shown after them.
    """

    values: Collection[object]
    meaning: str = ""
    names_value: ClassVar[bool] = True

    def __post_init__(self) -> None:
        values = self.values
        ordered = sorted(values, key=str) if isinstance(values, set | frozenset) else values
        object.__setattr__(self, "values", tuple(ordered))

    def _describe(self) -> str:
        meaning = f" ({self.meaning})" if self.meaning else ""
        return f"one of {', '.join(map(_yaml, self.values))}{meaning}"

    def __call__(self, value: object, key: str) -> object:
        if not isinstance(value, bool) and value in self.values:
            return value
        near = closest(value, map(str, self.values)) if isinstance(value, str) else None
        raise self.refused(key, value, f"is not {self.describe()}", near)


@dataclasses.dataclass(frozen=True)
class Satisfies(Check):
    """A text for which ``test`` holds; ``problem`` says what is wrong ("matches no canonical
    column"; default "is not <what>"), and the closest of ``near`` is suggested."""

    test: Callable[[str], bool]
    problem: str | None = None
    near: Collection[str] = ()
    names_value: ClassVar[bool] = True

    def __call__(self, value: object, key: str) -> object:
        if not isinstance(value, str):
            raise self.error(key, value)
        if self.test(value):
            return value
        problem = self.problem or f"is not {self.describe()}"
        raise self.refused(key, value, problem, closest(value, self.near))


@dataclasses.dataclass(frozen=True)
class Text(Check):
    """A text. ``scalars``: a number is read as its text (``name: 2024``); ``strip`` trims it."""

    nonempty: bool = False
    strip: bool = False
    scalars: bool = False

    def _describe(self) -> str:
        return "a non-empty text" if self.nonempty else "a text"

    def __call__(self, value: object, key: str) -> object:
        if self.scalars and _is(value, float):
            value = str(value)
        if not isinstance(value, str) or (self.nonempty and not value.strip()):
            raise self.error(key, value)
        return value.strip() if self.strip else value


@dataclasses.dataclass(frozen=True)
class ListOf(Check):
    """A list (never a text), returned as ``into``; ``duplicates``: keep, drop repeats or refuse;
    ``example`` (``A,B``) is shown with the way to write the list on the command line."""

    item: Check = dataclasses.field(default_factory=Check)
    min_len: int = 0
    duplicates: Literal["keep", "drop", "refuse"] = "keep"
    into: Callable[[Iterable[object]], Sequence[object]] = tuple
    example: str = ""

    def _describe(self) -> str:
        like = f" like [{self.example}]" if self.example else ""
        return f"a {'non-empty ' if self.min_len else ''}list{like}"

    def __call__(self, value: object, key: str) -> object:
        if isinstance(value, str) or not isinstance(value, Sequence) or len(value) < self.min_len:
            hint = f"On the command line: {key}=[{self.example}]." if self.example else ""
            got = f"{key} must be {self.describe()}; got {shown(value)}"
            raise ConfigError(sentence(got, hint, self.why))
        items = [
            self.item(v, key if self.item.names_value else f"{key}[{i}]")
            for i, v in enumerate(value)
        ]
        if self.duplicates != "keep":
            unique = list(dict.fromkeys(items))  # only lists of names use this option
            if len(unique) < len(items) and self.duplicates == "refuse":
                twice = next(v for i, v in enumerate(items) if v in items[:i])
                raise ConfigError(sentence(f"{key} lists {twice!r} twice: {shown(value)}"))
            items = unique
        return self.into(items)


@dataclasses.dataclass(frozen=True)
class MappingOf(Check):
    """A mapping: ``keys`` checks each key (named by the mapping's key), ``values`` each value
    (named ``<key>.<its key>``)."""

    keys: Check = dataclasses.field(default_factory=Check)
    values: Check = dataclasses.field(default_factory=Check)

    def _describe(self) -> str:
        return "a mapping"

    def __call__(self, value: object, key: str) -> object:
        if not isinstance(value, Mapping):
            raise self.error(key, value)
        return {self.keys(k, key): self.values(v, f"{key}.{k}") for k, v in value.items()}


@dataclasses.dataclass(frozen=True)
class OrNone(Check):
    """``None`` (YAML ``null``) or what ``check`` accepts."""

    check: Check

    def _describe(self) -> str:
        return f"{self.check.describe()} or null"

    def __call__(self, value: object, key: str) -> object:
        if value is None:
            return None
        try:
            return self.check(value, key)
        except ConfigError as exc:
            # Say that null would do too, unless the failure lies deeper (an item, a key).
            inner, outer = (f"{key} must be {d};" for d in (self.check.describe(), self.describe()))
            if not str(exc).startswith(inner):
                raise
            raise ConfigError(str(exc).replace(inner, outer, 1)) from None


@dataclasses.dataclass(frozen=True)
class AnyOf(Check):
    """What the first of several checks accepts (``str | tuple[str, ...]``)."""

    checks: tuple[Check, ...]

    def _describe(self) -> str:
        return " or ".join(c.describe() for c in self.checks)

    def __call__(self, value: object, key: str) -> object:
        for check in self.checks:
            try:
                return check(value, key)
            except ConfigError:
                continue
        raise self.error(key, value)
