"""The privacy audit: can any withheld count be recovered from what a run folder publishes?

Scans check that no published count is under k; this audit checks what a reader can *infer*.
It reads a run folder's published files (the MLflow run holds the same files and the same
metrics), writes down every linear relation between their counts, and computes by linear
programming (:mod:`ctdc_risk.disclosure`) the tightest bounds a reader can put on each
withheld count. Relations used:

``factors.csv``, ``context.csv``
    per factor: the levels' sizes add up to ``target/n_rows`` and their outcome counts
    (``share_with * n_with``) to ``target/n_positive``; ``n_without = N - n_with``; the
    shares without a level are of the rest; no outcome count exceeds its size; a ``<k``
    marker bounds a count to ``[0, k-1]``.
``shap_subgroups.csv``
    a published subgroup size equals the sum of the factor levels ``factors.json`` declares
    for it (``subgroup_levels``); a published size with no declared relation is a finding.
``calibration.csv``
    per model: bin sizes add up to the scored cases and observed cases to their outcome
    count (all cases for stratified or grouped folds).
``cohort_flow.csv``
    the counts shrink step by step; the cases each step removes are counts too; the first
    and last agree with ``data/n_rows`` and ``target/n_rows`` and ``cohort/n_rows`` with a
    published step.
``cv_folds.csv``
    a baseline's average precision is its test fold's prevalence; with stratified folds of
    about ``N / folds`` cases it gives the fold's outcome count.
``headline.csv`` (describe)
    boys, girls and children of another or unrecorded gender add up to the children.
``targeting.csv``
    cumulative shares of cases and of outcome cases give each rank group's held-out counts.
``metrics.json``
    the outcome's yes and no counts.

A withheld count is *recovered* (a finding) when its bounds hold fewer than k whole values
while it may be a small positive count, or when a withheld share is pinned to 0 % or 100 %.
Findings name the file, row and column and give the bounds, never a data value that is not
itself published.

What one audit cannot see: two runs whose cohorts differ by a few cases publish two totals
whose difference is those few cases (see docs/reliability.md); non-linear relations (the
interval of a ratio, an odds ratio's standard error) are not modelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ctdc_risk.audit.bounds import Finding
from ctdc_risk.audit.relations import RunAudit, read_json

__all__ = ["AuditError", "AuditReport", "Finding", "audit_run"]


@dataclass(frozen=True)
class AuditReport:
    """The findings of one run folder's audit and how much it checked."""

    run_dir: Path
    k: int
    findings: tuple[Finding, ...]
    checked: Mapping[str, int] = field(default_factory=dict)
    """Withheld counts bounded, per file."""

    @property
    def ok(self) -> bool:
        return not self.findings

    def lines(self) -> list[str]:
        head = f"privacy audit of {self.run_dir} (k = {self.k}): " + (
            "no withheld count can be recovered" if self.ok else f"{len(self.findings)} found"
        )
        checked = ", ".join(f"{name} {n}" for name, n in sorted(self.checked.items()) if n)
        return [head, f"  withheld counts bounded: {checked or 'none'}"] + [
            f"  {f.line()}" for f in self.findings
        ]


class AuditError(ValueError):
    """The folder is not a run folder the audit can read."""


def audit_run(run_dir: Path, *, k: int | None = None) -> AuditReport:
    """Audit a study or describe run folder; ``k`` defaults to the floor the run recorded.

    Raises
    ------
    AuditError
        ``run_dir`` is not a folder, or holds neither ``metrics.json`` nor ``headline.json``.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise AuditError(f"{run_dir} is not a folder; give the run folder a command printed.")
    metrics = read_json(run_dir / "metrics.json")
    headline = read_json(run_dir / "headline.json")
    factors = read_json(run_dir / "factors.json")
    if metrics is None and headline is None:
        raise AuditError(
            f"{run_dir} holds neither metrics.json (a study) nor headline.json (describe); "
            "is it a ctdc-risk run folder?"
        )
    floor = k or int((factors or headline or {}).get("privacy_k", 10))
    audit = RunAudit(run_dir, floor, metrics or {}, factors or {})
    audit.factor_tables()
    audit.calibration()
    audit.cohort_flow(headline)
    audit.folds()
    audit.headline()
    audit.targeting()
    audit.outcome_counts()
    audit.data_report()
    return AuditReport(run_dir, floor, tuple(audit.findings), dict(audit.checked))
