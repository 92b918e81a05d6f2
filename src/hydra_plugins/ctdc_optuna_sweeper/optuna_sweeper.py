"""The Hydra plugin class; the work is in ``_impl`` (imported when a sweep starts, so Hydra's
plugin scan at every start does not import Optuna)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class OptunaSweeper(Sweeper):
    """Tune the task with Optuna: ask ``n_jobs`` trials, launch them as one batch, tell Optuna
    each trial's return value (None, NaN or a failed job is a failed trial), repeat until
    ``n_trials``; then write ``optimization_results.yaml`` to the sweep folder."""

    def __init__(
        self,
        *,
        direction: Any,  # a config.Direction, or its name
        study_name: str | None,
        n_trials: int,
        n_jobs: int,
        max_failure_rate: float,
        sampler: Mapping[str, Any],
        params: Mapping[str, Any] | None,
    ) -> None:
        from hydra_plugins.ctdc_optuna_sweeper._impl import OptunaSweeperImpl

        self.impl = OptunaSweeperImpl(
            direction=direction,
            study_name=study_name,
            n_trials=n_trials,
            n_jobs=n_jobs,
            max_failure_rate=max_failure_rate,
            sampler=sampler,
            params=params,
        )

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.impl.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> None:
        self.impl.sweep(arguments)
