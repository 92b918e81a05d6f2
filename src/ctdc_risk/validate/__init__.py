"""One declarative validator for config mappings: constraints sit beside the fields they check.

In the spirit of scikit-learn's ``_parameter_constraints``, a frozen spec declares a class-level
``_constraints`` dict, ``{field: Check}``, for what its annotations cannot say (ranges, options,
list shapes, domain rules). :func:`from_mapping` refuses unknown keys naming the nearest valid
one, checks each value against its field's constraint (or, where none is declared, against the
field's annotation: a ``bool`` is never taken for an ``int``), fills in defaults and builds the
spec. Every failure is a :class:`~ctdc_risk.errors.ConfigError` naming the full dotted key and
the value found, so the CLI prints one line and exits 2.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Tree:
...     _constraints: ClassVar[Constraints] = {"depth": Interval(int, 1, 6)}
...     depth: int = 3
>>> from_mapping(Tree, {"depth": 2}, "tree")
Tree(depth=2)
>>> from_mapping(Tree, {"dpth": 2}, "tree")  # doctest: +ELLIPSIS
Traceback (most recent call last):
ctdc_risk.errors.ConfigError: tree: unknown key 'dpth'; did you mean tree.depth? (allowed ...)
>>> from_mapping(Tree, {"depth": 9}, "tree")
Traceback (most recent call last):
ctdc_risk.errors.ConfigError: tree.depth must be at most 6 (an integer from 1 to 6); got 9.
"""

from __future__ import annotations

# The example's dataclass says ClassVar under `from __future__ import annotations`: dataclasses
# reads that string in this module's namespace, so the name must be here.
from typing import ClassVar  # noqa: F401

from ctdc_risk.validate.checks import (
    AnyOf,
    Check,
    Constraints,
    Interval,
    Is,
    ListOf,
    MappingOf,
    Options,
    OrNone,
    Satisfies,
    Text,
    closest,
)
from ctdc_risk.validate.mapping import (
    UNSET,
    Nested,
    check_fields,
    check_mapping,
    constraints_of,
    dotted,
    from_mapping,
)

__all__ = [
    "UNSET",
    "AnyOf",
    "Check",
    "Constraints",
    "Interval",
    "Is",
    "ListOf",
    "MappingOf",
    "Nested",
    "Options",
    "OrNone",
    "Satisfies",
    "Text",
    "check_fields",
    "check_mapping",
    "closest",
    "constraints_of",
    "dotted",
    "from_mapping",
]
