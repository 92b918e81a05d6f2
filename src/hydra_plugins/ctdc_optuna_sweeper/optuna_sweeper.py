"""The Hydra plugin class; the work is in ``_impl`` (imported when a sweep starts, so Hydra's
plugin scan at every start does not import Optuna)."""

from __future__ import annotations

from typing import Any

from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class OptunaSweeper(Sweeper):
    """Tune the task with Optuna: ask ``n_jobs`` trials, launch them as one batch, tell Optuna
    each trial's return value (None, NaN or a failed job is a failed trial), repeat until
    ``n_trials``; then write ``optimization_results.yaml`` to the sweep folder."""

    def __init__(self, **settings: Any) -> None:
        # The settings are config.OptunaSweeperConf's fields, named and checked once, by
        # OptunaSweeperImpl's keyword-only signature (an unknown key is a TypeError there).
        from hydra_plugins.ctdc_optuna_sweeper._impl import OptunaSweeperImpl

        self.impl = OptunaSweeperImpl(**settings)

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.impl.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> None:
        self.impl.sweep(arguments)
