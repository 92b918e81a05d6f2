"""The rules :mod:`ctdc_risk.cli.guard` applies to one composed configuration.

Each rule refuses, naming the key, a setting through which a config could run code, load a
pickle, set the environment of workers or write outside the run folder. Names are checked on
what they resolve to: a ``_target_`` or a logging class is located the way Hydra and
:mod:`logging.config` locate it and compared by identity with a short list of exact objects,
so a longer path reaching the same module's attributes (``hydra._internal.utils.os``)
gets nowhere. Only names under a few known packages are imported at all.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from ctdc_risk.errors import ConfigError

# What Hydra may instantiate: its launchers and sweepers, our Optuna sweeper (which builds its
# sampler itself from plain settings, so no Optuna name is needed here) and this package's
# sweep callback. Exact objects, not prefixes.
ALLOWED_TARGETS = (
    "ctdc_risk.cli.sweep.SweepCallback",
    "hydra._internal.core_plugins.basic_launcher.BasicLauncher",
    "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
    "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher",
    "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher",
    "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher",
    "hydra_plugins.ctdc_optuna_sweeper.optuna_sweeper.OptunaSweeper",
)
# What logging.config.dictConfig may build, by section.
ALLOWED_LOGGING = {
    "handlers": ("logging.StreamHandler", "logging.FileHandler"),
    "formatters": ("logging.Formatter",),
    "filters": ("logging.Filter",),
}
# Environment variables a job may be given (hydra.job.env_set / env_copy): thread counts.
ALLOWED_ENV = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
# Launcher settings that become shell lines or sbatch flags of every job script.
SHELL_LAUNCHER_KEYS = ("setup", "teardown", "srun_args", "additional_parameters")
ALLOW_SETUP_ENV = "CTDC_RISK_ALLOW_LAUNCHER_SETUP"

_ROOTS = {name.split(".", 1)[0] for name in ALLOWED_TARGETS}
_LOGGING_NODES = ("job_logging", "hydra_logging")
_LOGGING_TOP = {
    "version",
    "formatters",
    "filters",
    "handlers",
    "loggers",
    "root",
    "disable_existing_loggers",
    "incremental",
}
_LOGGING_KEYS = {
    "formatters": {"class", "()", "format", "datefmt", "style", "validate", "defaults"},
    "filters": {"()", "name"},
    "loggers": {"level", "handlers", "propagate", "filters"},
}
_HANDLER_KEYS = {"class", "()", "level", "formatter", "filters"}
_HANDLER_EXTRA = {
    "logging.StreamHandler": {"stream"},
    "logging.FileHandler": {"filename", "mode", "encoding", "delay", "errors"},
}
_STREAMS = ("ext://sys.stdout", "ext://sys.stderr")
_FILE_MODES = ("a", "w")


@dataclass(frozen=True)
class RunFolder:
    """Where a run may write: its folder (a sweep's folder for a sweep), the job's output
    folder inside it, and the folders relative log file names start from."""

    root: Path
    output_dir: Path
    cwd: Path
    chdir: bool = False


def _walk(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            yield here, value
            yield from _walk(value, here)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            here = f"{path}[{i}]"
            yield here, value
            yield from _walk(value, here)


def _locate(name: str) -> Any:
    from hydra._internal.utils import _locate as hydra_locate

    return hydra_locate(name)


def _is_one_of(obj: object, names: tuple[str, ...]) -> bool:
    """Whether ``obj`` is the very object one of ``names`` resolves to. A name whose module is
    not imported cannot be ``obj`` (locating ``obj`` imported its module), so it is skipped:
    the check never imports more than the config itself asked for."""
    for name in names:
        module = name.rsplit(".", 1)[0]
        if module in sys.modules and _locate(name) is obj:
            return True
    return False


def _resolve_name(key: str, value: object, roots: set[str], where: str) -> Any:
    """The object ``value`` names, located as Hydra would; refuses names outside ``roots``
    without importing them."""
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z_][\w.]*", value):
        raise ConfigError(f"config key {key!r} is {value!r}{where}: not a plain dotted name.")
    if value.split(".", 1)[0] not in roots:
        raise ConfigError(
            f"config key {key!r} asks for {value!r}{where}; ctdc-risk builds no object a config "
            "names outside its short list (Hydra's launchers and sweepers, the Optuna sweeper, "
            "the sweep callback, logging's stream and file handlers)."
        )
    try:
        return _locate(value)
    except Exception:
        raise ConfigError(
            f"config key {key!r} names {value!r}{where}, which cannot be imported."
        ) from None


def check_target(key: str, value: object, *, where: str = "") -> None:
    """Refuse a ``_target_`` that is not exactly one of :data:`ALLOWED_TARGETS`."""
    obj = _resolve_name(key, value, _ROOTS, where)
    if not _is_one_of(obj, ALLOWED_TARGETS):
        raise ConfigError(
            f"config key {key!r} asks Hydra to call {value!r}{where}; ctdc-risk calls no "
            "function named by a config (only Hydra's launchers and sweepers, its Optuna "
            "sweeper and its sweep callback, named exactly)."
        )


def _inside(path: object, start: Path, root: Path) -> bool:
    if not isinstance(path, str) or not path or "\0" in path:
        return False
    full = Path(os.path.realpath(start / path))
    top = Path(os.path.realpath(root))
    return full == top or top in full.parents


def _plain_subdir(key: str, value: object, where: str) -> None:
    if value is None:
        return
    parts = PurePath(str(value)).parts
    if (
        not isinstance(value, str | int)
        or "\0" in str(value)
        or PurePath(str(value)).is_absolute()
        or ".." in parts
    ):
        raise ConfigError(
            f"config key {key!r} is {value!r}{where}: Hydra would write outside the run folder; "
            "use a plain relative folder name (no '..', not absolute)."
        )


def _check_logging(name: str, node: Any, folder: RunFolder | None, where: str) -> None:
    base = f"hydra.{name}"
    if node is None:
        return
    if not isinstance(node, Mapping):
        raise ConfigError(f"config key {base!r} is {node!r}{where}: not a logging setup.")
    for key, value in _walk(node, base):
        last = key.rsplit(".", 1)[-1]
        if last == ".":
            raise ConfigError(f"config key {key!r}{where}: logging attributes cannot be set.")
        is_stream = last == "stream" and ".handlers." in key
        if isinstance(value, str) and value.startswith(("ext://", "cfg://")) and not is_stream:
            raise ConfigError(
                f"config key {key!r} is {value!r}{where}: the logging setup may not import "
                "or reference objects."
            )
    for top in node:
        if top not in _LOGGING_TOP:
            raise ConfigError(f"config key '{base}.{top}'{where}: not a logging setting.")
    for section in ("formatters", "filters", "handlers", "loggers"):
        entries = node.get(section) or {}
        if not isinstance(entries, Mapping):
            raise ConfigError(f"config key '{base}.{section}' is {entries!r}{where}.")
        for entry_name, entry in entries.items():
            path = f"{base}.{section}.{entry_name}"
            if not isinstance(entry, Mapping):
                raise ConfigError(f"config key {path!r} is {entry!r}{where}.")
            if section == "handlers":
                _check_handler(path, entry, name, folder, where)
                continue
            _only_keys(path, entry, _LOGGING_KEYS[section], where)
            if section in ALLOWED_LOGGING:
                _check_factory(path, entry, ALLOWED_LOGGING[section], where)
    root = node.get("root")
    if root is not None:
        if not isinstance(root, Mapping):
            raise ConfigError(f"config key '{base}.root' is {root!r}{where}.")
        _only_keys(f"{base}.root", root, _LOGGING_KEYS["loggers"] - {"propagate"}, where)


def _only_keys(path: str, entry: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for key in entry:
        if key not in allowed:
            raise ConfigError(
                f"config key '{path}.{key}'{where} is not a setting the logging setup accepts "
                f"here; allowed: {', '.join(sorted(allowed))}."
            )


def _check_factory(
    path: str, entry: Mapping[str, Any], allowed: tuple[str, ...], where: str
) -> str:
    """The allowed name ``entry``'s ``class`` or ``()`` resolves to (refusing anything else)."""
    given = [k for k in ("class", "()") if k in entry]
    if len(given) > 1:
        raise ConfigError(f"config key {path!r}{where} gives both 'class' and '()'.")
    if not given:
        return allowed[0]
    key = f"{path}.{given[0]}"
    value = entry[given[0]]
    obj = _resolve_name(key, value, {"logging"}, where)
    for name in allowed:
        if _locate(name) is obj:
            return name
    raise ConfigError(
        f"config key {key!r} asks the logging setup to build {value!r}{where}; only "
        f"{', '.join(allowed)} are allowed there."
    )


def _check_handler(
    path: str, entry: Mapping[str, Any], node: str, folder: RunFolder | None, where: str
) -> None:
    kind = _check_factory(path, entry, ALLOWED_LOGGING["handlers"], where)
    _only_keys(path, entry, _HANDLER_KEYS | _HANDLER_EXTRA[kind], where)
    if kind == "logging.StreamHandler":
        stream = entry.get("stream")
        if stream is not None and stream not in _STREAMS:
            raise ConfigError(
                f"config key '{path}.stream' is {stream!r}{where}; a log stream is "
                f"{' or '.join(_STREAMS)}."
            )
        return
    mode = entry.get("mode", "a")
    if mode not in _FILE_MODES:
        raise ConfigError(f"config key '{path}.mode' is {mode!r}{where}; use 'a' or 'w'.")
    filename = entry.get("filename")
    # Hydra sets up its own logging before it changes folder, the job's after.
    start = folder.output_dir if folder and folder.chdir and node == "job_logging" else None
    if folder is None or not _inside(filename, start or folder.cwd, folder.root):
        raise ConfigError(
            f"config key '{path}.filename' is {filename!r}{where}: a log file must be inside "
            "the run folder (e.g. ${hydra.runtime.output_dir}/NAME.log)."
        )


def _check_env(job: Mapping[str, Any], where: str) -> None:
    env_set = job.get("env_set") or {}
    env_copy = job.get("env_copy") or []
    if not isinstance(env_set, Mapping) or not isinstance(env_copy, list):
        raise ConfigError(f"config keys 'hydra.job.env_set' / 'env_copy'{where} are malformed.")
    for name, value in env_set.items():
        if name not in ALLOWED_ENV or not re.fullmatch(r"\d{1,4}", str(value)):
            raise ConfigError(
                f"config key 'hydra.job.env_set.{name}' is {value!r}{where}: a config may not "
                f"set the environment of jobs; only {', '.join(ALLOWED_ENV)} with a whole "
                "number are allowed."
            )
    for i, name in enumerate(env_copy):
        if name not in ALLOWED_ENV:
            raise ConfigError(
                f"config key 'hydra.job.env_copy[{i}]' is {name!r}{where}; only "
                f"{', '.join(ALLOWED_ENV)} may be copied to jobs."
            )


def _check_launcher(launcher: Mapping[str, Any], folder: RunFolder | None, where: str) -> None:
    for key, value in _walk(launcher, "hydra.launcher"):
        for text in (key, value):
            if isinstance(text, str) and any(c in text for c in "\n\r\0"):
                raise ConfigError(
                    f"config key {key!r}{where} holds a line break: it would become a shell "
                    "line of every job script."
                )
    allowed = os.environ.get(ALLOW_SETUP_ENV) == "1"
    for key in SHELL_LAUNCHER_KEYS:
        if launcher.get(key) and not allowed:
            raise ConfigError(
                f"config key 'hydra.launcher.{key}' is {launcher[key]!r}{where}: it becomes "
                "shell lines or sbatch flags of every job script; set "
                f"{ALLOW_SETUP_ENV}=1 in your shell to allow it (README: Running on a cluster)."
            )
    for key in ("submitit_folder", "temp_folder"):
        value = launcher.get(key)
        if value is not None and (folder is None or not _inside(value, folder.cwd, folder.root)):
            raise ConfigError(
                f"config key 'hydra.launcher.{key}' is {value!r}{where}: it must be inside the "
                "sweep folder (hydra.sweep.dir)."
            )


def _check_sweeper(sweeper: Mapping[str, Any], where: str) -> None:
    if sweeper.get("custom_search_space") is not None:
        raise ConfigError(
            "config key 'hydra.sweeper.custom_search_space' is "
            f"{sweeper['custom_search_space']!r}{where}: it names a function for Optuna to "
            "call; use hydra.sweeper.params."
        )
    if sweeper.get("storage") is not None:
        raise ConfigError(
            f"config key 'hydra.sweeper.storage' is {sweeper['storage']!r}{where}: an Optuna "
            "storage writes outside the run folder or reads pickles from a server; the "
            "sweep's results are in its folder and MLflow."
        )


def check_searchpath(key: str, entries: object, *, where: str = "") -> None:
    """Only folders (``file://``) and this package's configs may be searched: a ``pkg://``
    entry imports its module, running its code."""
    values = entries if isinstance(entries, list) else [entries]
    for i, entry in enumerate(values):
        text = str(entry)
        if text.startswith("file://") or re.fullmatch(r"pkg://ctdc_risk(\.[\w.]*)?", text):
            continue
        raise ConfigError(
            f"config key '{key}[{i}]' is {text!r}{where}: an extra config folder must be "
            "file://DIR (a pkg:// entry imports and runs its module)."
        )


def check_config(
    config: Mapping[str, Any], *, where: str = "", folder: RunFolder | None = None
) -> None:
    """Raise :class:`ConfigError` naming the first key that could run code, load a pickle, set
    the environment of jobs or write outside the run folder.

    ``config`` is plain data with the ``hydra`` node resolved; ``folder`` says where the run
    may write (without it, any log file or launcher folder is refused).
    """
    suffix = f" (from {where})" if where else ""
    hydra = config.get("hydra") or {}
    hydra = hydra if isinstance(hydra, Mapping) else {}
    # Settings first, then names: refusing a setting imports nothing.
    if hydra.get("searchpath"):
        check_searchpath("hydra.searchpath", hydra["searchpath"], where=suffix)
    _plain_subdir("hydra.output_subdir", hydra.get("output_subdir"), suffix)
    sweep = hydra.get("sweep") or {}
    if isinstance(sweep, Mapping):
        _plain_subdir("hydra.sweep.subdir", sweep.get("subdir"), suffix)
    job = hydra.get("job") or {}
    if isinstance(job, Mapping):
        _check_env(job, suffix)
    if isinstance(hydra.get("launcher"), Mapping):
        _check_launcher(hydra["launcher"], folder, suffix)
    if isinstance(hydra.get("sweeper"), Mapping):
        _check_sweeper(hydra["sweeper"], suffix)
    for name in _LOGGING_NODES:
        _check_logging(name, hydra.get(name), folder, suffix)
    for key, value in _walk(config, ""):
        if key.rsplit(".", 1)[-1] in ("_target_", "_partial_target_"):
            check_target(key, value, where=suffix)
