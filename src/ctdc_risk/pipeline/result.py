"""What a study produced, typed stage by stage: the in-memory twin of its run folder.

Report, tracking and console read a :class:`StudyResult`; the run files are written from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ctdc_risk.data.data_report import DataReport
from ctdc_risk.evaluate import CVResult
from ctdc_risk.factors.contributions import ShapSummary
from ctdc_risk.factors.factor_rows import FactorTable
from ctdc_risk.factors.interaction_table import InteractionTable
from ctdc_risk.factors.sensitivity import SensitivityResult
from ctdc_risk.factors.stability import StabilityResult
from ctdc_risk.factors.subgroups import SubgroupImportance
from ctdc_risk.features import Factor
from ctdc_risk.pipeline.specs import RunSpec
from ctdc_risk.privacy import Floor, suppress_chain
from ctdc_risk.target import Target
from ctdc_risk.targeting.results import TargetingTable
from ctdc_risk.transport import TransportScore


@dataclass(frozen=True)
class CohortFlow:
    """Cases left after each cohort and target rule, and how each count is published.

    ``markers[i]`` is ``"<k"`` or ``"suppressed"`` where the count of step i is withheld
    (complementary suppression of the chain), empty where it is shown.
    """

    steps: tuple[tuple[str, int], ...]
    markers: tuple[str, ...]
    cohort_step: int = 0
    """Position of the cohort's last step (the target's rules follow it)."""

    COLUMNS = ("step", "rule", "n_rows")

    @classmethod
    def published(
        cls, steps: tuple[tuple[str, int], ...], floor: Floor, *, cohort_step: int
    ) -> CohortFlow:
        """The steps with the markers their complementary suppression decides."""
        return cls(steps, suppress_chain([n for _, n in steps], k=floor.k), cohort_step)

    def shown(self) -> list[tuple[str, int | str]]:
        """``(rule, count or marker)`` per step, as published."""
        return [(rule, m or n) for (rule, n), m in zip(self.steps, self.markers, strict=True)]

    @property
    def cohort_withheld(self) -> bool:
        """True when the cohort's size is withheld (its metric would give a step back)."""
        return bool(self.markers[self.cohort_step])

    def to_records(self) -> list[dict[str, object]]:
        """One mapping per step in :attr:`COLUMNS` order (``cohort_flow.csv``)."""
        return [
            dict(zip(self.COLUMNS, (i, rule, shown), strict=True))
            for i, (rule, shown) in enumerate(self.shown())
        ]


@dataclass(frozen=True)
class StudyResult:
    """Everything a study produced (the in-memory twin of its run folder)."""

    out_dir: Path
    spec: RunSpec
    data_report: DataReport
    cohort_flow: CohortFlow
    target: Target
    factors: tuple[Factor, ...]
    cv: dict[str, CVResult]
    shap: dict[str, ShapSummary]
    subgroups: SubgroupImportance
    stability: StabilityResult
    table: FactorTable
    metrics: dict[str, float]
    primary_model: str
    files: tuple[Path, ...] = ()
    seconds: dict[str, float] = field(default_factory=dict)
    targeting: TargetingTable | None = None
    """Prevention-targeting profiles (None when ``targeting.enabled`` is false)."""
    transport: dict[str, tuple[TransportScore, TransportScore]] = field(default_factory=dict)
    """Per model: scores with folds grouped by country and on a temporal split."""
    interactions: InteractionTable | None = None
    """Effect modification tests (None when ``explain.modifiers`` is empty)."""
    sensitivity: SensitivityResult | None = None
    """Labelled levels under other readings of the missing data."""
    n_distinct_records: int = 0
    """Distinct records among the study's cases (identical records are one group)."""

    @property
    def floor(self) -> Floor:
        """The privacy floor every output of the study is held to."""
        return self.spec.privacy.floor
