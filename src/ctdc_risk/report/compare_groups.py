"""Which runs ``ctdc-risk compare`` sets side by side: the settings that differ, and the groups.

A label compares a level with its reference *for one outcome*: "risk" for family recruitment
and "risk" for sexual exploitation answer different questions, so runs of different targets are
never compared. Within a target, each setting the runs vary (the model, the cohort, the data, a
parameter) is compared holding every other varied setting fixed:

- :func:`run_settings` reads, per run, the value of each setting that differs across the runs,
  from the run's flattened config (``params``: the top-level key, ``model``, ``cohort``,
  ``stability``, is one setting; its ``name`` when it has one, else the keys that differ) or,
  for runs logged without params, from its tags (cohort, target, model, data release) and sweep
  overrides;
- :func:`group_runs` makes one :class:`Group` per (setting compared, values of the others): the
  model comparison sweep (two models x three targets) gives three groups, "within target X, the
  models"; a sweep of models x cohorts gives "the models within each target and cohort" and "the
  cohorts within each target and model". Runs of one target that no such group holds together
  (two runs that differ in two settings at once) are compared as one group that says so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

# Settings never compared across: each value is another question.
STRATA = ("target",)
# Config keys that say where or how a run ran, not what it estimated.
IGNORED = ("tracking", "compare", "replicate", "hydra", "command", "stability.n_jobs")
_TAG_SETTINGS = (("cohort", "cohort"), ("target", "target"), ("model", "model"))
_PLURAL = {"model": "models", "cohort": "cohorts", "data": "data sets", "run": "runs"}


class _Run(Protocol):
    @property
    def run_id(self) -> str: ...
    @property
    def tags(self) -> Mapping[str, str]: ...
    @property
    def params(self) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class Group:
    """Runs that differ in one setting (``varies``) and share the values in ``fixed``."""

    varies: str
    """The setting compared: ``model``, ``cohort``, ...; ``run`` when the runs share every
    setting (repeated runs); several joined by ``+`` when no single one tells them apart."""
    fixed: tuple[tuple[str, str], ...]
    runs: tuple[int, ...]
    """Positions in the list of runs compared."""
    heads: tuple[str, ...]
    """One column head per run: what differs (``model=logistic``)."""

    def where(self) -> str:
        """The settings held fixed, in words: ``target family_recruitment, cohort boys``."""
        return ", ".join(f"{k} {v}" for k, v in self.fixed) or "these runs"

    def what(self) -> str:
        """The runs, by what differs: ``the 2 models``."""
        noun = _PLURAL.get(self.varies, f"settings of {self.varies}")
        return f"the {len(self.runs)} {noun}"


def _plain(value: str) -> str:
    """``["logistic"]`` -> ``logistic``; other values as they are."""
    if value.startswith("["):
        try:
            items = json.loads(value)
        except ValueError:
            return value
        if isinstance(items, list):
            return ",".join(str(x) for x in items)
    return value


def _ignored(key: str) -> bool:
    return any(key == p or key.startswith(p + ".") for p in IGNORED)


def _from_params(runs: Sequence[_Run]) -> list[dict[str, str]]:
    keys = sorted({k for r in runs for k in r.params if not _ignored(k)})
    differ = [k for k in keys if len({r.params.get(k, "") for r in runs}) > 1]
    settings: dict[str, list[str]] = {}
    for key in differ:
        settings.setdefault(key.split(".")[0], []).append(key)
    out: list[dict[str, str]] = [{} for _ in runs]
    for setting, setting_keys in settings.items():
        name = f"{setting}.name"
        for values, run in zip(out, runs, strict=True):
            if name in setting_keys or (name in run.params and len(setting_keys) > 1):
                values[setting] = run.params.get(name, "")
            elif setting_keys == [setting]:
                values[setting] = _plain(run.params.get(setting, ""))
            elif len(setting_keys) == 1:
                values[setting] = _plain(run.params.get(setting_keys[0], ""))
            else:
                values[setting] = "; ".join(
                    f"{k[len(setting) + 1 :]}={_plain(run.params.get(k, ''))}" for k in setting_keys
                )
    return out


def _from_tags(runs: Sequence[_Run]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = [{} for _ in runs]
    for tag, setting in _TAG_SETTINGS:
        for values, run in zip(out, runs, strict=True):
            values[setting] = run.tags.get(tag, "")
    for values, run in zip(out, runs, strict=True):
        for token in run.tags.get("sweep_overrides", "").split():
            key, _, value = token.lstrip("+~").partition("=")
            setting = key.split(".")[0].split("/")[0]
            if setting and not _ignored(key) and setting not in values:
                values[setting] = token.lstrip("+~") if "." in key else value
    return out


def run_settings(runs: Sequence[_Run]) -> list[dict[str, str]]:
    """Per run: setting -> value, for the settings whose value differs across ``runs``."""
    found = _from_params(runs) if all(r.params for r in runs) else _from_tags(runs)
    for tag, setting in _TAG_SETTINGS:  # runs logged with part of their config
        tagged = [r.tags.get(tag, "") for r in runs]
        if len(set(tagged)) > 1 and not any(setting in f for f in found):
            for values, value in zip(found, tagged, strict=True):
                values[setting] = value
    data = [r.tags.get("data_sha256", "") for r in runs]
    if len(set(data)) > 1 and not any("data" in f for f in found):
        for values, run in zip(found, runs, strict=True):
            values["data"] = run.tags.get("data_file") or run.tags.get("data_sha256", "")[:12]
    names = sorted({s for f in found for s in f})
    differ = [s for s in names if len({f.get(s, "") for f in found}) > 1]
    ordered = [s for s in STRATA if s in differ] + [s for s in differ if s not in STRATA]
    return [{s: f.get(s, "") for s in ordered} for f in found]


def _heads(
    varies: Sequence[str],
    members: Sequence[int],
    values: list[dict[str, str]],
    runs: Sequence[_Run],
) -> tuple[str, ...]:
    heads = [" ".join(f"{s}={values[i][s]}" for s in varies) or runs[i].run_id[:8] for i in members]
    if len(set(heads)) < len(heads):
        heads = [f"{h} ({runs[i].run_id[:8]})" for h, i in zip(heads, members, strict=True)]
    return tuple(heads)


def group_runs(runs: Sequence[_Run]) -> tuple[list[Group], list[tuple[int, str]]]:
    """The groups to compare, and the runs left out of every group with the reason."""
    values = run_settings(runs)
    settings = list(values[0]) if values else []
    strata = [s for s in settings if s in STRATA]
    compared = [s for s in settings if s not in STRATA]
    # A target every run shares is still named: "within target X".
    targets = {r.tags.get("target") or r.params.get("target.name", "") for r in runs}
    target = targets.pop() if len(targets) == 1 and "target" not in settings else ""
    shared: tuple[tuple[str, str], ...] = (("target", target),) if target else ()
    position = {i: p for p, i in enumerate(_ordered(list(range(len(runs))), runs))}
    groups: list[Group] = []
    for setting in compared:
        others = [s for s in settings if s != setting]
        cells: dict[tuple[tuple[str, str], ...], list[int]] = {}
        for i, v in enumerate(values):
            cells.setdefault(tuple((s, v[s]) for s in others), []).append(i)
        for fixed, members in cells.items():
            if len({values[i][setting] for i in members}) > 1:
                members = sorted(members, key=position.__getitem__)
                heads = _heads([setting], members, values, runs)
                groups.append(Group(setting, shared + fixed, tuple(members), heads))
    covered = {i for g in groups for i in g.runs}
    by_stratum: dict[tuple[tuple[str, str], ...], list[int]] = {}
    for i, v in enumerate(values):
        by_stratum.setdefault(tuple((s, v[s]) for s in strata), []).append(i)
    alone: list[tuple[int, str]] = []
    for fixed, members in by_stratum.items():
        if all(i in covered for i in members):
            continue
        where = ", ".join(f"{s} {v}" for s, v in fixed)
        if len(members) < 2:
            alone.append((members[0], f"no other run of {where} to compare it with"))
            continue
        varies = [s for s in compared if len({values[i][s] for i in members}) > 1]
        members = sorted(members, key=position.__getitem__)
        heads = _heads(varies, members, values, runs)
        groups.append(Group("+".join(varies) or "run", shared + fixed, tuple(members), heads))
    groups.sort(key=lambda g: (g.varies, position[g.runs[0]]))
    return groups, alone


def _ordered(members: list[int], runs: Sequence[_Run]) -> list[int]:
    """A sweep's jobs in the sweep's order (its jobs may start in any order); other runs in
    the order given."""
    jobs = [runs[i].tags.get("sweep_job", "") for i in members]
    if all(j.isdigit() for j in jobs):
        return [i for _, i in sorted(zip((int(j) for j in jobs), members, strict=True))]
    return list(members)
