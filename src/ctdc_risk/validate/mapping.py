"""Specs from config mappings: :func:`from_mapping` and :func:`check_mapping` check every key
and value against the fields' checks (declared, or read from the annotations) and build the spec.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from functools import cache
from typing import TYPE_CHECKING, TypeVar

from ctdc_risk.errors import ConfigError
from ctdc_risk.validate.checks import (
    AnyOf,
    Check,
    Constraints,
    Is,
    ListOf,
    MappingOf,
    OrNone,
    closest,
    sentence,
    shown,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")
UNSET = "???"
"""Hydra's mark of a value the config leaves for the user to set."""


def dotted(key: str, name: str) -> str:
    """``key.name``, or ``name`` at the top of the config (``key`` empty)."""
    return f"{key}.{name}" if key else name


@dataclasses.dataclass(frozen=True)
class Nested(Check):
    """A nested spec (a dataclass), built with :func:`from_mapping`."""

    spec: type[DataclassInstance]

    def _describe(self) -> str:
        return "a mapping of settings"

    def __call__(self, value: object, key: str) -> object:
        if not isinstance(value, Mapping):
            raise self.error(key, value)
        return from_mapping(self.spec, value, key)


def check_mapping(
    data: object, checks: Constraints, key: str, *, required: Iterable[str] = (), word: str = "key"
) -> dict[str, object]:
    """The checked (and converted) values of the keys ``data`` holds; ConfigError when it is
    not a mapping, a key is unknown (naming the nearest) or ``???``, or a value fails."""
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{key or 'the config'} must be a mapping of settings; got {shown(data)}."
        )
    unknown = sorted(set(map(str, data)) - set(checks))
    if unknown:
        near = closest(unknown[0], checks)
        found = f"{key + ': ' if key else ''}unknown {word} {unknown[0]!r}"
        allowed = ", ".join(sorted(checks))
        raise ConfigError(
            f"{found}; did you mean {dotted(key, near)}? (allowed {word}s: {allowed})"
            if near
            else f"{found}; allowed {word}s are {allowed}."
        )
    for name in required:
        if name not in data:
            raise ConfigError(f"{dotted(key, name)} is missing.")
    values: dict[str, object] = {}
    for name, value in data.items():
        check, full = checks[str(name)], dotted(key, str(name))
        if isinstance(value, str) and value == UNSET:
            raise ConfigError(sentence(f"{full} is not set", check.why))
        values[str(name)] = check(value, full)
    return values


def from_mapping(
    cls: type[T],
    data: object,
    key: str,
    *,
    defaults: Mapping[str, object] | None = None,
    word: str = "key",
) -> T:
    """Build dataclass ``cls`` from a config mapping, checking every key and value.

    Parameters
    ----------
    cls
        A dataclass; its ``_constraints`` (if any) and field annotations say what is valid.
    data
        The config block.
    key
        Where the block sits in the config (``targeting``); errors name ``<key>.<field>``.
    defaults
        Config defaults that differ from the dataclass's (or that it lacks); a field with
        neither is required.
    word
        What the keys are called in errors ("setting", "top-level config key").
    """
    defaults = defaults or {}
    required = [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is f.default_factory is dataclasses.MISSING and f.name not in defaults
    ]
    values = check_mapping(data, constraints_of(cls), key, required=required, word=word)
    return cls(**{**defaults, **values})


def check_fields(spec: DataclassInstance, key: str) -> None:
    """Check a built spec's fields against its declared ``_constraints`` (for ``__post_init__``;
    not its annotations: code may pass a ``Path`` for a ``str``, a config never does)."""
    declared: Constraints = getattr(type(spec), "_constraints", {})
    for name, check in declared.items():
        check(getattr(spec, name), dotted(key, name))


@cache
def constraints_of(cls: type[DataclassInstance]) -> Constraints:
    """Each field's check: the declared one, else one read from its annotation."""
    declared: Constraints = getattr(cls, "_constraints", {})
    names = [f.name for f in dataclasses.fields(cls)]
    if set(declared) - set(names):
        raise TypeError(f"{cls.__name__}._constraints names no field: {set(declared) - set(names)}")
    hints: Mapping[str, object] = typing.get_type_hints(cls)
    return {n: declared[n] if n in declared else _from_annotation(hints[n]) for n in names}


def _from_annotation(hint: object) -> Check:
    origin: object = typing.get_origin(hint)
    args: tuple[object, ...] = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        one = [_from_annotation(a) for a in rest]
        check = one[0] if len(one) == 1 else AnyOf(tuple(one))
        return OrNone(check) if len(rest) < len(args) else check
    if origin is tuple and args[1:] == (Ellipsis,):
        return ListOf(_from_annotation(args[0]))
    if origin is dict:
        return MappingOf(_from_annotation(args[0]), _from_annotation(args[1]))
    if hint in (bool, int, float, str):
        return Is(typing.cast(type, hint))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return Nested(hint)
    return Check()
