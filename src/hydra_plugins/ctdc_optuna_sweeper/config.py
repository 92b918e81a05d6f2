"""The sweeper's settings, registered as ``hydra/sweeper=ctdc_optuna``.

Only plain settings: no storage (results go to the sweep folder and MLflow), no function named
by a config, no sampler built from a ``_target_``. Imported by Hydra's plugin scan at every
start, so it imports no Optuna. Hydra's scan runs this module before it is in ``sys.modules``,
so its annotations are evaluated at once (no ``from __future__ import annotations``, which
dataclasses would then resolve through ``sys.modules``).
"""

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hydra.core.config_store import ConfigStore

SWEEPER = "hydra_plugins.ctdc_optuna_sweeper.optuna_sweeper.OptunaSweeper"


class Direction(Enum):
    minimize = 1
    maximize = 2


class SamplerName(Enum):
    tpe = 1
    random = 2


@dataclass
class SamplerConf:
    # tpe: Optuna's Tree-structured Parzen Estimator; random: independent uniform draws.
    name: SamplerName = SamplerName.tpe
    # The same seed and the same trial results give the same trials.
    seed: int | None = None
    # TPE only: trials drawn at random before TPE starts modelling (Optuna's default).
    n_startup_trials: int = 10


@dataclass
class OptunaSweeperConf:
    _target_: str = SWEEPER
    direction: Direction = Direction.minimize
    # A label in the log and the results file; the study lives in memory only.
    study_name: str | None = None
    n_trials: int = 20
    # Trials asked for at once and handed to the launcher as one batch.
    n_jobs: int = 2
    # The share of a batch's trials that may fail before the sweep stops (0 = none may).
    max_failure_rate: float = 0.0
    sampler: SamplerConf = field(default_factory=SamplerConf)
    # key: search space in Hydra's override grammar (choice, range, interval, tag(log, ...)).
    params: dict[str, Any] | None = None


ConfigStore.instance().store(
    group="hydra/sweeper", name="ctdc_optuna", node=OptunaSweeperConf, provider="ctdc_risk"
)
