"""What the report is built from: a study's aggregated, privacy-checked figures in a few
typed parts (the question, the cases, the models' scores, the factor findings, the run)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ctdc_risk.data.data_report import DataReport
from ctdc_risk.evaluate import ReliabilityBin
from ctdc_risk.factors.factor_rows import ContextRow, FactorRow
from ctdc_risk.factors.interaction_table import InteractionTable
from ctdc_risk.factors.sensitivity import SensitivityResult
from ctdc_risk.factors.subgroups import SubgroupRow
from ctdc_risk.headline import ChildRuleShare
from ctdc_risk.privacy import Floor
from ctdc_risk.targeting.results import TargetingTable


@dataclass(frozen=True)
class StudyQuestion:
    """What the study asks, of which cases, in words."""

    title: str
    outcome_words: str
    target_description: str
    cohort_name: str
    cohort_description: str
    eligibility: str = ""
    """The rules that make the outcome known, in words ("recruiter relation recorded")."""
    child_rule: str = "exploitation"


@dataclass(frozen=True)
class CaseCounts:
    """The cases the study rests on: the data read, the cohort flow, the headline shares."""

    data: DataReport
    n_cases: int
    n_positive: int
    flow: tuple[tuple[str, int], ...]
    flow_markers: tuple[str, ...] = ()
    """How each cohort-flow count is shown when withheld (``"<k"`` or ``"suppressed"``), empty
    where published; none given: counts under k are shown ``"<k"``."""
    n_distinct_records: int = 0
    reference_shares: dict[str, tuple[int, int] | None] = field(default_factory=dict)
    """Group -> (n_known, n_yes) for children and adults when the outcome is family recruitment."""
    child_rules: tuple[ChildRuleShare, ...] = ()
    """The family-recruitment headline under every child rule (family recruitment only)."""


@dataclass(frozen=True)
class TransportSummary:
    """A model's score on cases unlike its training ones (other countries, later years)."""

    roc_auc: float | None
    ece: float | None
    note: str
    """What the split was, or why it could not be made."""


@dataclass(frozen=True)
class ModelScores:
    """How well the models did on held-out cases, and where they carry over."""

    primary_model: str
    cv: dict[str, dict[str, float]]
    baseline: dict[str, float]
    reliability: dict[str, tuple[ReliabilityBin, ...]]
    n_splits: int
    transport: dict[str, TransportSummary] = field(default_factory=dict)
    """Primary model: ``"country"`` and ``"temporal"`` scores."""
    transport_by_model: dict[str, dict[str, TransportSummary]] = field(default_factory=dict)


@dataclass(frozen=True)
class FactorFindings:
    """The factor table and every analysis that qualifies it."""

    rows: tuple[FactorRow, ...]
    n_boot: int
    min_sign_agreement: float
    alpha: float = 0.05
    multiplicity: str = "holm"
    context_rows: tuple[ContextRow, ...] = ()
    """Crude shares of the items recorded after the outcome's phase (never labelled)."""
    dropped: tuple[tuple[str, str], ...] = ()
    """Factors of the feature set left out, with the reason."""
    subgroups: tuple[SubgroupRow, ...] = ()
    sensitivity: SensitivityResult | None = None
    """Labelled levels under other readings of the missing data."""
    interactions: InteractionTable | None = None
    """Effect modification tests (boys and girls, age bands), when the study ran them."""


@dataclass(frozen=True)
class RunInfo:
    """Where the report came from: settings, version, time, run."""

    settings: dict[str, Any]
    version: str
    created: str
    run_id: str


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report needs, already aggregated and privacy-checked, in a few parts."""

    question: StudyQuestion
    cases: CaseCounts
    models: ModelScores
    factors: FactorFindings
    run: RunInfo
    floor: Floor
    targeting: TargetingTable | None = None
    """Prevention-targeting profiles with held-out figures, when the study learnt them."""
