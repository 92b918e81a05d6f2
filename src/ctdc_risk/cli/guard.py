"""Refuse a command line whose config could run code, load a pickle, set the environment of
jobs or write outside the run folder.

Hydra instantiates ``_target_`` nodes (callbacks, launchers, sweepers and their samplers),
hands ``hydra.job_logging`` to :func:`logging.config.dictConfig`, sets ``hydra.job.env_set``
in every job, writes ``hydra.output_subdir`` and turns the SLURM launcher's ``setup`` into
shell lines. A config file, an experiment, an override or an extra config folder
(``hydra.searchpath``) reaches all of them. Before Hydra runs anything,
:func:`check_command_line` reads the line with Hydra's own argument parser (so an abbreviated
``--config-d`` is what argparse makes of it), composes what it asks for (every job of a sweep,
including an experiment's sweeper params) and applies :func:`guard_rules.check_config` to each.
A config it cannot compose is refused, never skipped.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from ctdc_risk.cli.guard_rules import (
    ALLOWED_TARGETS,
    RunFolder,
    check_config,
    check_searchpath,
    check_target,
)
from ctdc_risk.errors import ConfigError
from ctdc_risk.validate import closest

if TYPE_CHECKING:
    from hydra.core.override_parser.types import Override
    from omegaconf import DictConfig

__all__ = ["ALLOWED_TARGETS", "check_command_line", "check_config", "check_target"]

# Hydra options that load another config, add a config folder or unpickle a file.
REFUSED_OPTIONS = {
    "config_path": "--config-path",
    "config_name": "--config-name",
    "config_dir": "--config-dir",
    "experimental_rerun": "--experimental-rerun",
}
# Every job of a sweep is composed and checked; a bigger sweep is refused, not half-checked.
MAX_CHECKED_JOBS = 100


class _ArgumentError(Exception):
    pass


class _ExitRequestError(Exception):
    """argparse would exit after printing (``--version``): nothing will be composed."""


def _hydra_parser() -> Any:
    from hydra._internal.utils import get_args_parser

    parser: Any = get_args_parser()

    def error(message: str) -> NoReturn:
        raise _ArgumentError(message)

    def leave(status: int = 0, message: str | None = None) -> NoReturn:
        raise _ExitRequestError

    # argparse would print and exit; the guard turns its complaint into one line instead.
    parser.error = error
    parser.exit = leave
    return parser


def _parse(argv: list[str]) -> Any:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return _hydra_parser().parse_args(argv)


def read_command_line(argv: list[str]) -> tuple[list[str], bool]:
    """The overrides Hydra will read from ``argv`` and whether it asks for a sweep.

    Refuses the options that load another config or a pickle, however argparse would spell
    them (``--config-d``, ``-cd=DIR``, ``--exp FILE``).
    """
    try:
        args = _parse(argv)
    except _ExitRequestError:
        return [], False
    except _ArgumentError as exc:
        raise ConfigError(f"cannot read the command line: {exc}") from None
    for dest, option in REFUSED_OPTIONS.items():
        if getattr(args, dest, None) is None:
            continue
        given = option
        for arg in argv:
            try:
                alone = _parse([arg, "X"]) if arg.startswith("-") else None
            except (_ArgumentError, _ExitRequestError):
                continue
            if alone is not None and getattr(alone, dest, None) is not None:
                given = arg.split("=", 1)[0]
                break
        raise ConfigError(
            f"{given} ({option}) is not supported: ctdc-risk composes its own packaged config "
            "and never reruns a pickled one. Add a folder of your own configs with "
            "hydra.searchpath=[file:///DIR]."
        )
    return list(args.overrides or []), bool(args.multirun)


def _compose_error(exc: Exception, where: str) -> ConfigError:
    # Hydra's message, on one line, without the search path it appends.
    text = str(exc).split("Config search path:", 1)[0]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    text, listing = (lines or [""])[0], False
    for line in lines[1:]:
        joint = " " if text.endswith(":") else ", " if listing else "; "
        listing = listing or text.endswith(":")
        text += joint + line
    text = text.replace(".; ", "; ")
    text = re.sub(r"\s+", " ", text)[:400] or type(exc).__name__
    suffix = f" (from {where})" if where else ""
    return ConfigError(f"cannot compose the config{suffix}: {text}")


def _config_groups(loader: Any) -> set[str]:
    groups = set()
    for group in loader.list_groups(""):
        groups.add(group)
        groups.update(f"{group}/{sub}" for sub in loader.list_groups(group))
    return groups


def explain_mistake(overrides: list[str], where: str = "") -> ConfigError | None:
    """One line naming the misspelt key or option in ``overrides`` and the nearest valid one.

    Called when Hydra could not compose: Hydra's own message suggests ``+key=value`` for a
    misspelt key (which would only add a key nobody reads) and lists options among lines of
    search path. None when no override is to blame.
    """
    from hydra import compose
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.object_type import ObjectType
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import ValueType
    from omegaconf import DictConfig

    loader = GlobalHydra.instance().config_loader()
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except Exception:
        return None
    suffix = f" (from {where})" if where else ""
    groups = _config_groups(loader)
    choices, keys = [], []
    for o in parsed:
        key = o.key_or_group
        if o.is_delete() or o.is_add() or o.is_force_add():
            continue
        if key not in groups:
            keys.append(o)
            continue
        if o.value_type in (ValueType.ELEMENT, ValueType.CHOICE_SWEEP):
            options = loader.get_group_options(key, results_filter=ObjectType.CONFIG)
            values = list(o.sweep_string_iterator()) if o.is_sweep_override() else [o.value()]
            for value in values:
                if value is not None and str(value) not in options:
                    near = closest(str(value), options)
                    hint = f"did you mean {key}={near}? " if near else ""
                    return ConfigError(
                        f"{key}={value}: {key} has no option {str(value)!r}; {hint}"
                        f"Options: {', '.join(options)}."
                    )
        if not o.is_sweep_override():
            choices.append(str(o.input_line))
    try:
        cfg = compose(config_name="config", overrides=choices)
    except Exception:
        return None
    for o in keys:
        key = o.key_or_group
        if key.startswith("hydra.") or key == "hydra":
            continue
        parts = key.split(".")
        node: Any = cfg
        depth = 0
        # keys(), not `in`: a key whose value is ??? (not set yet) still exists
        while depth < len(parts) and isinstance(node, DictConfig) and parts[depth] in node.keys():  # noqa: SIM118
            node = node._get_node(parts[depth])
            depth += 1
        if depth == len(parts):
            continue  # the key exists: Hydra failed for another reason
        siblings = [str(k) for k in node] if isinstance(node, DictConfig) else []
        if depth == 0:
            siblings += [g for g in groups if "/" not in g and g not in siblings]
        near = closest(parts[depth], siblings)
        parent = ".".join(parts[:depth])
        if near:
            hint = f"did you mean {'.'.join([*parts[:depth], near])}?"
        elif siblings:
            hint = f"the keys {'under ' + parent if parent else 'at the top'} are: " + ", ".join(
                sorted(siblings)
            )
        else:
            hint = f"{parent} takes a value, not keys"
        return ConfigError(f"unknown config key {key!r} (in {o.input_line}){suffix}: {hint}")
    return None


def _check_searchpath_overrides(parsed: list[Override]) -> None:
    # Composing searches these folders: a pkg:// entry would import its module first.
    for o in parsed:
        key = o.key_or_group
        line = str(o.input_line)
        if key == "hydra" or key.startswith("hydra.searchpath"):
            if "${" in line:
                raise ConfigError(f"override {line!r}: hydra.searchpath is plain text.")
            for scheme in re.findall(r"([A-Za-z][\w+.-]*://[^\s,\]\}'\"]*)", line):
                check_searchpath(key, scheme)


def _axes(
    parsed: list[Override], base: DictConfig, fixed: list[str], loader: Any, *, every: bool = False
) -> list[list[str]]:
    """The values of every sweep (the command line's, then the sweeper's params of the
    composed config that the command line does not set), as ``key=value`` overrides."""
    from hydra.core.object_type import ObjectType
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import ValueType
    from omegaconf import OmegaConf

    params = OmegaConf.select(base, "hydra.sweeper.params") or {}
    extra = [f"{k}={v}" for k, v in params.items() if isinstance(v, str | int | float)]
    parser = OverridesParser.create(config_loader=loader)
    try:
        from_params = parser.parse_overrides(extra)
    except Exception as exc:
        raise _compose_error(exc, "hydra.sweeper.params") from None
    set_on_line = {o.key_or_group for o in parsed}
    sweeps = {o.key_or_group: o for o in from_params if o.key_or_group not in set_on_line}
    sweeps.update({o.key_or_group: o for o in parsed if o.is_sweep_override()})
    choices = OmegaConf.select(base, "hydra.runtime.choices") or {}
    axes = []
    for key, o in sweeps.items():
        if not o.is_sweep_override() or o.value_type == ValueType.INTERVAL_SWEEP:
            continue  # a fixed value (checked in the base config) or a range of real numbers
        if o.value_type == ValueType.GLOB_CHOICE_SWEEP:
            options = loader.get_group_options(
                key, results_filter=ObjectType.CONFIG, config_name="config", overrides=fixed
            )
            glob: Any = o.value()  # a Glob
            values = list(glob.filter(options))
        else:
            values = list(o.sweep_string_iterator())
            numbers = all(isinstance(v, int | float) for v in o.sweep_iterator())
            if numbers and "/" not in key and key not in choices and not every:
                # A number is no config file, name, path part or shell line: it cannot
                # change what the checks see, so one value stands for all.
                values = values[:1]
        axes.append([f"{o.get_key_element()}={v}" for v in values])
    return axes


def _jobs(parsed: list[Override], base: DictConfig, fixed: list[str]) -> Iterator[list[str]]:
    from hydra.core.global_hydra import GlobalHydra

    axes = _axes(parsed, base, fixed, GlobalHydra.instance().config_loader())
    n_jobs = 1
    for values in axes:
        n_jobs *= len(values)
    if n_jobs > MAX_CHECKED_JOBS:
        raise ConfigError(
            f"the sweep has {n_jobs} combinations of config files and text values; ctdc-risk "
            f"composes and checks each before anything runs, at most {MAX_CHECKED_JOBS}: split "
            "it into smaller sweeps."
        )
    for combo in itertools.product(*axes):
        yield list(combo)


def _run_folder(cfg: DictConfig, multirun: bool) -> RunFolder:
    """Fill in what Hydra sets only when a job starts, and say where the job may write."""
    from omegaconf import OmegaConf, open_dict, read_write

    hydra = cfg.hydra
    with read_write(hydra), open_dict(hydra):
        for key, value in (("num", 0), ("id", "guard")):
            if OmegaConf.is_missing(hydra.job, key):
                hydra.job[key] = value
        multirun = multirun or str(hydra.mode) == "RunMode.MULTIRUN"
        if multirun:
            root = Path(str(hydra.sweep.dir))
            output_dir = root / str(hydra.sweep.subdir)
        else:
            root = output_dir = Path(str(hydra.run.dir))
        output_dir = Path(os.path.abspath(output_dir))
        OmegaConf.update(hydra, "runtime.output_dir", str(output_dir))
    return RunFolder(
        root=Path(os.path.abspath(root)),
        output_dir=output_dir,
        cwd=Path.cwd(),
        chdir=bool(hydra.job.chdir),
    )


def _check_composed(cfg: DictConfig, multirun: bool, where: str) -> None:
    from omegaconf import OmegaConf

    try:
        folder = _run_folder(cfg, multirun)
        hydra = OmegaConf.to_container(cfg.hydra, resolve=True)
    except Exception as exc:
        key = getattr(exc, "full_key", "") or "hydra"
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(
            f"config key {key!r} cannot be resolved{f' (from {where})' if where else ''}: {first}"
        ) from None
    task = OmegaConf.to_container(
        OmegaConf.masked_copy(cfg, [str(k) for k in cfg if k != "hydra"]), resolve=False
    )
    assert isinstance(task, dict)
    check_config(
        {**{str(k): v for k, v in task.items()}, "hydra": hydra}, where=where, folder=folder
    )


def _count_jobs(parsed: list[Override], base: DictConfig, fixed: list[str]) -> int:
    """How many jobs the sweep will run (for the progress display)."""
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    trials = OmegaConf.select(base, "hydra.sweeper.n_trials")
    if isinstance(trials, int):
        return trials
    n = 1
    for values in _axes(parsed, base, fixed, GlobalHydra.instance().config_loader(), every=True):
        n *= len(values)
    return n


def _refuse_sweep_without_m(base: DictConfig, argv: list[str]) -> None:
    """An experiment that is a sweep runs only its first job without ``-m``: say so instead."""
    from omegaconf import OmegaConf

    params = OmegaConf.select(base, "hydra.sweeper.params") or {}
    if not params:
        return
    experiment = OmegaConf.select(base, "hydra.runtime.choices.experiment")
    what = f"experiment={experiment}" if experiment else "this config"
    axes = "; ".join(f"{k}={v}" for k, v in params.items())
    line = " ".join(a for a in argv if not a.startswith("command="))
    command = OmegaConf.select(base, "command")
    first = f"{command} " if command and command != "study" else ""
    raise ConfigError(
        f"{what} is a sweep ({axes}); without -m only its first job would run. Run every job "
        f"with: ctdc-risk {first}-m {line}"
    )


def check_command_line(argv: list[str]) -> int:
    """Compose every config ``argv`` asks for and check it with :func:`check_config`.

    Returns the number of jobs the command line runs (1 without ``-m``). Raises
    :class:`ConfigError` (one line naming the option or key) for anything refused and for a
    config that cannot be composed.
    """
    from hydra import compose, initialize_config_module
    from hydra.core.override_parser.overrides_parser import OverridesParser

    import ctdc_risk.cli.main  # noqa: F401  (registers the ${pid:} resolver the config uses)

    overrides, multirun = read_command_line(argv)
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except Exception as exc:
        raise _compose_error(exc, "") from None
    _check_searchpath_overrides(parsed)
    fixed = [str(o.input_line) for o in parsed if not o.is_sweep_override()]
    with initialize_config_module(config_module="ctdc_risk.conf", version_base="1.3"):

        def composed(variant: list[str], where: str) -> DictConfig:
            try:
                return compose(config_name="config", overrides=variant, return_hydra_config=True)
            except Exception as exc:  # Hydra's and OmegaConf's composition errors
                raise (explain_mistake(variant, where) or _compose_error(exc, where)) from None

        base = composed(fixed, "")
        _check_composed(base.copy(), multirun, "")
        if not multirun:
            _refuse_sweep_without_m(base, argv)
        n_jobs = _count_jobs(parsed, base, fixed) if multirun else 1
        for combo in _jobs(parsed, base, fixed):
            if combo:
                where = " ".join(combo)
                _check_composed(composed([*fixed, *combo], where), multirun, where)
    return n_jobs
