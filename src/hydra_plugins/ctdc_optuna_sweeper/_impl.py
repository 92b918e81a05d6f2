"""The sweep loop: Optuna's ask-and-tell interface around Hydra's launcher."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from enum import Enum
from pathlib import Path
from typing import Any

import optuna
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.errors import CompactHydraException
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf
from optuna.study import StudyDirection
from optuna.trial import TrialState

from hydra_plugins.ctdc_optuna_sweeper._space import SearchSpace, parse_search_space
from hydra_plugins.ctdc_optuna_sweeper.config import Direction, SamplerName

log = logging.getLogger(__name__)

RESULTS_FILE = "optimization_results.yaml"


class SweeperSettingError(CompactHydraException, ValueError):
    """A sweeper setting out of its range, named with the value received."""


class TooManyFailedTrialsError(CompactHydraException, RuntimeError):
    """More trials of a batch failed than ``max_failure_rate`` allows."""


def _name(value: Any, names: type[Direction] | type[SamplerName], key: str) -> str:
    # Any Enum, not only ``names``: Hydra's plugin scan runs config.py again, so the member
    # a config holds may belong to another run of the same class.
    text = value.name if isinstance(value, Enum) else str(value)
    allowed = [member.name for member in names]
    if text not in allowed:
        raise SweeperSettingError(
            f"hydra.sweeper.{key} is {value!r}; use one of: {', '.join(allowed)}."
        )
    return text


def make_sampler(settings: Mapping[str, Any]) -> optuna.samplers.BaseSampler:
    """Optuna's sampler named by ``settings`` (``name``, ``seed``, ``n_startup_trials``)."""
    name = _name(settings.get("name", "tpe"), SamplerName, "sampler.name")
    seed = settings.get("seed")
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    n_startup = int(settings.get("n_startup_trials", 10))
    if n_startup < 0:
        raise SweeperSettingError(f"hydra.sweeper.sampler.n_startup_trials is {n_startup}.")
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=n_startup)


def trial_value(ret: JobReturn) -> tuple[float | None, str]:
    """A job's objective value, or None and why the trial failed."""
    if ret.status == JobStatus.FAILED:
        return None, f"the job raised {ret._return_value!r}"
    value = ret.return_value
    if value is None:
        return None, "the job returned no value"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None, f"the job returned {value!r}, not a number"
    if math.isnan(number):
        return None, "the job returned NaN"
    return number, ""


class OptunaSweeperImpl:
    def __init__(
        self,
        *,
        direction: Any,
        study_name: str | None,
        n_trials: int,
        n_jobs: int,
        max_failure_rate: float,
        sampler: Mapping[str, Any],
        params: Mapping[str, Any] | None,
    ) -> None:
        for key, number in (("n_trials", n_trials), ("n_jobs", n_jobs)):
            if number < 1:
                raise SweeperSettingError(f"hydra.sweeper.{key} is {number}; it must be 1 or more.")
        if not 0.0 <= max_failure_rate <= 1.0:
            raise SweeperSettingError(
                f"hydra.sweeper.max_failure_rate is {max_failure_rate}; it is a share, 0 to 1."
            )
        self.direction = _name(direction, Direction, "direction")
        self.study_name = study_name
        self.n_trials = n_trials
        self.n_jobs = n_jobs
        self.max_failure_rate = max_failure_rate
        self.sampler_settings = dict(sampler)
        self.params = dict(params) if params else {}
        self.config: DictConfig | None = None
        self.launcher: Any = None
        self.job_idx = 0

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )
        self.job_idx = 0

    def sweep(self, arguments: list[str]) -> None:
        assert self.config is not None and self.launcher is not None, "setup() first"
        # The whole space is read before any trial runs: a mistake in it launches nothing.
        space = parse_search_space(self.params, arguments)
        sampler = make_sampler(self.sampler_settings)
        study = optuna.create_study(
            study_name=self.study_name,
            sampler=sampler,
            direction=StudyDirection[self.direction.upper()],
        )
        log.info(
            "Optuna %s: %s, %d trials, %d at a time, parameters: %s",
            optuna.__version__,
            type(sampler).__name__,
            self.n_trials,
            self.n_jobs,
            ", ".join(space.distributions) or "none",
        )
        remaining = self.n_trials
        while remaining > 0:
            batch = min(self.n_jobs, remaining)
            self._run_batch(study, space, batch)
            remaining -= batch
        self._write_results(study)

    def _run_batch(self, study: optuna.Study, space: SearchSpace, size: int) -> None:
        trials = [study.ask(space.distributions) for _ in range(size)]
        overrides = [space.overrides(trial.params) for trial in trials]
        returns: Sequence[JobReturn] = self.launcher.launch(overrides, initial_job_idx=self.job_idx)
        self.job_idx += len(returns)
        failed = []
        for trial, ret in zip(trials, returns, strict=True):
            value, why = trial_value(ret)
            if value is None:
                study.tell(trial, state=TrialState.FAIL)
                log.warning("trial %d failed: %s", trial.number, why)
                failed.append(f"trial {trial.number}: {why}")
            else:
                study.tell(trial, value)
        if len(failed) / size > self.max_failure_rate:
            raise TooManyFailedTrialsError(
                f"{len(failed)} of {size} trials of a batch failed, more than "
                f"hydra.sweeper.max_failure_rate={self.max_failure_rate} allows ("
                + "; ".join(failed)
                + ")"
            )

    def _write_results(self, study: optuna.Study) -> None:
        assert self.config is not None
        done = [t for t in study.trials if t.state == TrialState.COMPLETE]
        if not done:
            log.warning("no trial completed: no best parameters to write")
            return
        best = study.best_trial
        results = {
            "name": "optuna",
            "best_params": best.params,
            "best_value": best.value,
            "best_trial": best.number,
            "n_trials": len(study.trials),
            "n_failed": len(study.trials) - len(done),
        }
        path = Path(str(self.config.hydra.sweep.dir)) / RESULTS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(OmegaConf.create(results), path)
        log.info("best value %s with %s (%s)", best.value, best.params, path)
