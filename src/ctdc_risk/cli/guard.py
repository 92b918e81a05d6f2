"""Refuse a config that would make Hydra call a function of someone's choosing.

Hydra instantiates ``_target_`` nodes (callbacks, launchers, sweepers and their samplers) and
hands ``hydra.job_logging`` to :func:`logging.config.dictConfig`, which builds any ``class`` or
``()`` it names. A config file, an experiment, an override or an extra config folder
(``hydra.searchpath``) could point one at ``os.system``. Before Hydra runs anything,
:func:`check_command_line` composes the configuration the command line asks for (each value of
every sweep separately) and refuses every ``_target_`` outside Hydra's own plugins and this
package's sweep callback, naming the key.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ctdc_risk.errors import ConfigError

ALLOWED_TARGETS = ("ctdc_risk.cli.sweep.SweepCallback",)
ALLOWED_TARGET_PREFIXES = (
    "hydra._internal.core_plugins.",
    "hydra_plugins.hydra_joblib_launcher.",
    "hydra_plugins.hydra_submitit_launcher.",
    "hydra_plugins.hydra_optuna_sweeper.",
    "optuna.samplers.",
)
_LOGGING_NODES = ("job_logging", "hydra_logging")
_CONFIG_FLAGS = ("-cp", "-cn", "-cd", "--config-path", "--config-name", "--config-dir")


def _allowed(target: object) -> bool:
    return isinstance(target, str) and (
        target in ALLOWED_TARGETS or target.startswith(ALLOWED_TARGET_PREFIXES)
    )


def _walk(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            yield here, value
            yield from _walk(value, here)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")


def check_config(config: Mapping[str, Any], *, where: str = "") -> None:
    """Raise :class:`ConfigError` naming the first key that would call an unvetted function."""
    suffix = f" (from {where})" if where else ""
    for key, value in _walk(config, ""):
        name = key.rsplit(".", 1)[-1]
        if name in ("_target_", "_partial_target_") and not _allowed(value):
            raise ConfigError(
                f"config key {key!r} asks Hydra to call {value!r}{suffix}; ctdc-risk calls no "
                "function named by a config (only Hydra's own plugins)."
            )
        in_logging = any(f"hydra.{n}." in f"{key}." for n in _LOGGING_NODES)
        if (
            in_logging
            and name in ("()", "class")
            and not (isinstance(value, str) and value.startswith("logging."))
        ):
            raise ConfigError(
                f"config key {key!r} asks the logging setup to build {value!r}{suffix}; only "
                "classes from Python's logging module are allowed there."
            )


def _variants(overrides: list[str]) -> Iterator[tuple[list[str], str]]:
    """The override lists to compose: the fixed ones, then each sweep value with them."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import ValueType
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as exc:
        raise ConfigError(f"cannot read the overrides: {str(exc).splitlines()[0]}") from None
    fixed = [str(o.input_line) for o in parsed if not o.is_sweep_override()]
    yield fixed, ""
    for o in parsed:
        # Range and interval sweeps are numbers: nothing in them can name a function.
        if o.value_type not in (ValueType.CHOICE_SWEEP, ValueType.SIMPLE_CHOICE_SWEEP):
            continue
        values = list(o.sweep_string_iterator())
        key = o.get_key_element()
        for value in values:
            yield [*fixed, f"{key}={value}"], f"{key}={value}"


def check_command_line(argv: list[str]) -> None:
    """Compose what ``argv`` asks for and check it with :func:`check_config`."""
    from hydra import compose, initialize_config_module
    from hydra.errors import HydraException
    from omegaconf import OmegaConf

    for arg in argv:
        if arg.split("=", 1)[0] in _CONFIG_FLAGS:
            raise ConfigError(
                f"{arg.split('=', 1)[0]} is not supported: ctdc-risk composes its own packaged "
                "config. Add a folder of your own configs with hydra.searchpath=[file:///DIR]."
            )
    overrides = [a for a in argv if not a.startswith("-") and "=" in a]
    seen: set[tuple[str, ...]] = set()
    queue = list(_variants(overrides))
    with initialize_config_module(config_module="ctdc_risk.conf", version_base="1.3"):
        while queue:
            variant, where = queue.pop(0)
            if tuple(variant) in seen:
                continue
            seen.add(tuple(variant))
            try:
                cfg = compose(config_name="config", overrides=variant, return_hydra_config=True)
            except HydraException:
                continue  # Hydra itself reports a config it cannot compose, and runs nothing
            plain = OmegaConf.to_container(cfg, resolve=False)
            assert isinstance(plain, dict)
            check_config({str(k): v for k, v in plain.items()}, where=where)
            # Sweep values an experiment file sets (hydra.sweeper.params) are checked too.
            params = (plain.get("hydra") or {}).get("sweeper", {}).get("params") or {}
            if where == "" and isinstance(params, dict):
                extra = [f"{k}={v}" for k, v in params.items() if isinstance(v, str)]
                queue.extend(v for v in _variants([*variant, *extra]) if v[1])
