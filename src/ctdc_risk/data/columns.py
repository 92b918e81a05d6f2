"""Your own column names: ``data.columns={my_name: ctdcName}`` renames a file's header.

The mapping is applied to the header before the release is recognised, so a file exported
with other names (``age`` for ``ageBroad``, ``sex`` for ``gender``) reads like the release it
came from. Every target must be a column name of a CTDC release (or of this package's
canonical frame); a mapping that would give two columns one name is refused.

Examples
--------
>>> check_column_targets({"sex": "gender"})
>>> rename_header(["sex", "ageBroad"], {"sex": "gender"}, source="f.csv")
{'sex': 'gender'}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ctdc_risk.data.header import normalise_header
from ctdc_risk.data.releases import RELEASES
from ctdc_risk.errors import ConfigError
from ctdc_risk.validate import closest


def ctdc_column_names() -> dict[str, str]:
    """Every column name a release accepts, by its normalised spelling."""
    names: dict[str, str] = {}
    for release in RELEASES:
        for column in release.columns:
            for name in release.accepted_names(column):
                names.setdefault(normalise_header(name), name)
    return names


def check_column_targets(columns: Mapping[str, str]) -> None:
    """Refuse targets that are not CTDC column names, naming the key and the nearest name."""
    known = ctdc_column_names()
    for mine, theirs in columns.items():
        if not isinstance(theirs, str) or not isinstance(mine, str):
            raise ConfigError(
                f"data.columns.{mine}: expected a CTDC column name (text); got {theirs!r}."
            )
        if normalise_header(theirs) not in known:
            near = closest(theirs, set(known.values()))
            hint = f"; did you mean {near}?" if near else ""
            raise ConfigError(
                f"data.columns.{mine}: {theirs!r} is not a CTDC column name{hint} (a column of "
                "a CTDC release, as in its codebook, or of the canonical frame)."
            )


def rename_header(
    header: Iterable[str], columns: Mapping[str, str], *, source: str
) -> dict[str, str]:
    """The renames to apply to ``header``, checked against it.

    Raises
    ------
    ConfigError
        A mapped name is not in the header, or the mapping would give two columns one name.
    """
    check_column_targets(columns)
    names = list(header)
    by_key = {normalise_header(n): n for n in names}
    renames: dict[str, str] = {}
    for mine, theirs in columns.items():
        found = by_key.get(normalise_header(mine))
        if found is None:
            raise ConfigError(
                f"data.columns.{mine}: {source} has no column {mine!r}; its columns are: "
                f"{', '.join(names[:40])}{' ...' if len(names) > 40 else ''}."
            )
        renames[found] = theirs
    final: dict[str, str] = {}
    for name in names:
        new = renames.get(name, name)
        clash = final.get(normalise_header(new))
        if clash is not None:
            raise ConfigError(
                f"data.columns: {clash!r} and {name!r} of {source} would both be read as "
                f"{new!r}; map only one of them, or rename the other too."
            )
        final[normalise_header(new)] = name
    return renames
