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

import csv
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctdc_risk.disclosure import LinearSystem, feasible_range, is_disclosed
from ctdc_risk.privacy import SUPPRESSED, Floor

_SHARE_TOLERANCE = 5e-7  # shares are written with six decimals


@dataclass(frozen=True)
class Finding:
    """One withheld count a reader could recover, or a publication the audit cannot check."""

    file: str
    row: str
    column: str
    low: int | None
    high: int | None
    problem: str

    def line(self) -> str:
        bounds = "" if self.low is None else f" (bounds {self.low}..{self.high})"
        return f"{self.file}: {self.row}, {self.column}: {self.problem}{bounds}"


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
    metrics = _json(run_dir / "metrics.json")
    headline = _json(run_dir / "headline.json")
    factors = _json(run_dir / "factors.json")
    if metrics is None and headline is None:
        raise AuditError(
            f"{run_dir} holds neither metrics.json (a study) nor headline.json (describe); "
            "is it a ctdc-risk run folder?"
        )
    floor = k or int((factors or headline or {}).get("privacy_k", 10))
    audit = _Audit(run_dir, floor, metrics or {}, factors or {})
    audit.factor_tables()
    audit.calibration()
    audit.cohort_flow(headline)
    audit.folds()
    audit.headline()
    audit.targeting()
    audit.outcome_counts()
    audit.data_report()
    return AuditReport(run_dir, floor, tuple(audit.findings), dict(audit.checked))


def _json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else None


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _number(cell: str | None) -> float | None:
    try:
        value = float(str(cell))
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


class _Audit:
    def __init__(
        self, run_dir: Path, k: int, metrics: dict[str, Any], factors: dict[str, Any]
    ) -> None:
        self.run_dir, self.k, self.metrics, self.factors = run_dir, k, metrics, factors
        self.findings: list[Finding] = []
        self.checked: dict[str, int] = {}
        self.n_total = _number(metrics.get("target/n_rows"))
        self.n_positive = _number(metrics.get("target/n_positive"))

    # --- helpers ------------------------------------------------------------------------------

    def _bound(
        self,
        system: LinearSystem,
        expression: dict[int, float],
        where: tuple[str, str, str],
        *,
        share_of: float | None = None,
    ) -> None:
        """Bound one withheld count; record a finding if it is recovered.

        ``share_of``: the most cases the share's group can hold; a count pinned to 0 then
        pins the share to 0 % or 100 %.
        """
        self.checked[where[0]] = self.checked.get(where[0], 0) + 1
        found = feasible_range(system, expression)
        if found is None:
            self.findings.append(Finding(*where, None, None, "published figures contradict"))
            return
        low, high = found
        if is_disclosed(low, high, k=self.k):
            self.findings.append(Finding(*where, low, high, "recovered within fewer than k"))
        elif share_of is not None and high <= 0 < share_of:
            self.findings.append(Finding(*where, low, high, "share pinned to 0 % or 100 %"))

    def _partition(
        self,
        file: str,
        group: str,
        cells: list[dict[str, Any]],
        total: float | None,
        positive: float | None,
        extra: list[tuple[str, list[str], float]] = (),  # type: ignore[assignment]
    ) -> None:
        """Cells sharing out ``total`` cases and ``positive`` outcome cases (None: unknown).

        Each cell: ``name``, ``n`` / ``n_without`` (number, ``"<k"``, ``"suppressed"``, None),
        ``share`` / ``share_without`` (number or None), ``unpublished`` (never shown).
        """
        k = self.k
        s = LinearSystem()
        big = float(total) if total is not None else 1e9
        pos = float(positive) if positive is not None else big
        t = s.unknown("total", total if total is not None else 0, big)
        p = s.unknown("positive", positive if positive is not None else 0, pos)
        n_var, y_var = [], []
        for c in cells:
            n_var.append(s.unknown(f"n {c['name']}", 0, big))
            y_var.append(s.unknown(f"y {c['name']}", 0, pos))
            nv, yv = n_var[-1], y_var[-1]
            s.at_most({yv: 1, nv: -1}, 0)
            s.at_most({yv: 1, p: -1}, 0)
            s.at_most({nv: 1, yv: -1, t: -1, p: 1}, 0)  # the rest's count without >= 0
            n_with, n_without = c.get("n"), c.get("n_without")
            if isinstance(n_with, float):
                s.equal({nv: 1}, n_with)
            elif n_with == Floor(k).marker:
                s.at_most({nv: 1}, k - 1)
            if isinstance(n_without, float):
                s.equal({t: 1, nv: -1}, n_without)
            elif n_without == Floor(k).marker:
                s.at_most({t: 1, nv: -1}, k - 1)
            if c.get("yes_small"):
                s.at_most({yv: 1}, k - 1)  # its outcome count is shown "<k"
            share, share_without = c.get("share"), c.get("share_without")
            if isinstance(share, float):
                self._share(s, yv, nv, share, n_with, None, None, big)
            if isinstance(share_without, float):
                self._share(s, p, t, share_without, n_without, yv, nv, big)
        for _, members, value in extra:
            idx = [n_var[i] for i, c in enumerate(cells) if c["name"] in members]
            s.equal(dict.fromkeys(idx, 1.0), value)
        s.equal({**dict.fromkeys(n_var, 1.0), t: -1.0}, 0)
        s.equal({**dict.fromkeys(y_var, 1.0), p: -1.0}, 0)
        for i, c in enumerate(cells):
            nv, yv = n_var[i], y_var[i]
            row = f"{group}={c['name']}" if group else c["name"]
            n_hidden = not isinstance(c.get("n"), float)
            if c.get("unpublished") or n_hidden:
                self._bound(s, {nv: 1}, (file, row, c.get("n_column", "n_with")))
            if (
                not c.get("unpublished")
                and not isinstance(c.get("n_without"), float)
                and ("n_without" in c)
            ):
                self._bound(s, {t: 1, nv: -1}, (file, row, "n_without"))
            if c.get("unpublished") or not isinstance(c.get("share"), float):
                n_range = feasible_range(s, {nv: 1})
                n_high = float(n_range[1]) if n_range is not None else 1.0
                column = c.get("share_column", "share_with")
                self._bound(s, {yv: 1}, (file, row, f"{column} (outcome count)"), share_of=n_high)
                self._bound(
                    s, {nv: 1, yv: -1}, (file, row, f"{column} (count without)"), share_of=n_high
                )
            if "share_without" in c and not isinstance(c.get("share_without"), float):
                self._bound(
                    s, {p: 1, yv: -1}, (file, row, "share_without (outcome count)"), share_of=1.0
                )
                self._bound(
                    s,
                    {t: 1, nv: -1, p: -1, yv: 1},
                    (file, row, "share_without (count without)"),
                    share_of=1.0,
                )

    @staticmethod
    def _share(
        s: LinearSystem,
        num: int,
        den: int,
        share: float,
        den_value: Any,
        minus_num: int | None,
        minus_den: int | None,
        big: float,
    ) -> None:
        """``(num - minus_num) / (den - minus_den) == share`` within rounding."""
        top = {num: 1.0, **({minus_num: -1.0} if minus_num is not None else {})}
        bottom = {den: 1.0, **({minus_den: -1.0} if minus_den is not None else {})}
        if isinstance(den_value, float):
            # a published size and share give the count itself
            s.equal(top, round(share * den_value))
            return
        row = dict(top)
        for j, c in bottom.items():
            row[j] = row.get(j, 0.0) - share * c
        slack = _SHARE_TOLERANCE * big + 0.5
        s.at_most(row, slack)
        s.at_most({j: -c for j, c in row.items()}, slack)

    # --- blocks -------------------------------------------------------------------------------

    def factor_tables(self) -> None:
        declared = self.factors.get("subgroup_levels") or {}
        subgroups: dict[str, float] = {}
        for r in _rows(self.run_dir / "shap_subgroups.csv"):
            n = _number(r.get("n"))
            if n is not None:
                subgroups[r["subgroup"]] = n
        relations: dict[str, list[tuple[str, list[str], float]]] = {}
        for name, n in subgroups.items():
            rel = declared.get(name)
            if not isinstance(rel, Mapping):
                self.findings.append(
                    Finding("shap_subgroups.csv", name, "n", None, None,
                            "published size with no declared relation to the factor table")
                )  # fmt: skip
                continue
            relations.setdefault(str(rel["factor"]), []).append(
                (name, [str(v) for v in rel["levels"]], n)
            )
        for file in ("factors.csv", "context.csv"):
            by_factor: dict[str, list[dict[str, Any]]] = {}
            for r in _rows(self.run_dir / file):
                by_factor.setdefault(r["factor"], []).append(
                    {
                        "name": r["level"],
                        "n": _cell(r.get("n_with")),
                        "n_without": _cell(r.get("n_without")),
                        "share": _number(r.get("share_with")),
                        "share_without": _number(r.get("share_without")),
                    }
                )
            for factor, cells in by_factor.items():
                self._partition(
                    file, factor, cells, self.n_total, self.n_positive,
                    relations.pop(factor, []) if file == "factors.csv" else [],
                )  # fmt: skip
        for factor, rels in relations.items():
            for name, _, _ in rels:
                self.findings.append(
                    Finding("shap_subgroups.csv", name, "n", None, None,
                            f"declared relation names factor {factor!r}, not in factors.csv")
                )  # fmt: skip

    def _scored_totals(self) -> tuple[float | None, float | None]:
        kind = (self.factors.get("cv") or {}).get("kind", "stratified")
        if kind in ("stratified", "grouped"):
            return self.n_total, self.n_positive
        return None, None  # a temporal split scores an unpublished number of cases

    def calibration(self) -> None:
        by_model: dict[str, list[dict[str, Any]]] = {}
        for r in _rows(self.run_dir / "calibration.csv"):
            n = _cell(r.get("n"))
            rate = _number(r.get("observed_rate"))
            by_model.setdefault(r["model"], []).append(
                {"name": f"bin {r['bin_lower'][:4]}-{r['bin_upper'][:4]}", "n": n,
                 "share": rate, "n_column": "n", "share_column": "observed_rate"}
            )  # fmt: skip
        total, positive = self._scored_totals()
        for model, cells in by_model.items():
            self._partition("calibration.csv", model, cells, total, positive)

    def cohort_flow(self, headline: dict[str, Any] | None) -> None:
        rows = _rows(self.run_dir / "cohort_flow.csv")
        if not rows:
            return
        cells = [_cell(r["n_rows"]) for r in rows]
        top = max((c for c in cells if isinstance(c, float)), default=1e9)
        s = LinearSystem()
        var = []
        for c in cells:
            if isinstance(c, float):
                var.append(s.unknown("c", c, c))
            else:
                var.append(s.unknown("c", 0, self.k - 1 if c == Floor(self.k).marker else top))
        for i in range(1, len(var)):
            s.at_most({var[i]: 1, var[i - 1]: -1}, 0)
        pinned = {
            0: (self.metrics.get("data/n_rows"), "metrics.json data/n_rows"),
            len(var) - 1: (
                self.metrics.get("target/n_rows", (headline or {}).get("n_cohort")),
                "target/n_rows or headline n_cohort",
            ),
        }
        for i, (value, _) in pinned.items():
            number = _number(value)
            if number is not None:
                s.equal({var[i]: 1}, number)
        cohort_n = _number(self.metrics.get("cohort/n_rows"))
        if cohort_n is not None and cohort_n not in [c for c in cells if isinstance(c, float)]:
            self.findings.append(
                Finding("metrics.json", "cohort/n_rows", "value", None, None,
                        "gives a withheld cohort-flow step back")
            )  # fmt: skip
        for i, r in enumerate(rows):
            where = f"step {r['step']} ({r['rule']})"
            if not isinstance(cells[i], float):
                self._bound(s, {var[i]: 1}, ("cohort_flow.csv", where, "n_rows"))
            if i:
                self._bound(
                    s, {var[i - 1]: 1, var[i]: -1}, ("cohort_flow.csv", where, "cases removed")
                )

    def folds(self) -> None:
        rows = _rows(self.run_dir / "cv_folds.csv")
        cv = self.factors.get("cv") or {}
        if not rows or self.n_total is None or cv.get("kind", "stratified") != "stratified":
            return
        n_test = self.n_total / float(cv.get("folds") or 5)
        for r in rows:
            prevalence = _number(r.get("average_precision"))
            if r.get("kind") != "baseline" or prevalence is None:
                continue
            self.checked["cv_folds.csv"] = self.checked.get("cv_folds.csv", 0) + 1
            yes = prevalence * n_test
            if min(yes, n_test - yes) < self.k:
                self.findings.append(
                    Finding("cv_folds.csv", f"{r['model']} fold {r['fold']}", "average_precision",
                            None, None, "a test fold's prevalence implies fewer than k cases")
                )  # fmt: skip

    def headline(self) -> None:
        rows = [
            r for r in _rows(self.run_dir / "headline.csv") if r["table"] == "family recruitment"
        ]
        by_group = {r["group"]: r for r in rows}
        if not {"children", "boys", "girls"} <= set(by_group):
            return
        children = by_group["children"]
        total, positive = _number(children["n"]), _number(children["n_yes"])
        cells: list[dict[str, Any]] = []
        for g in ("boys", "girls"):
            r = by_group[g]
            n, n_yes = _cell(r["n"]), _number(r["n_yes"])
            share = n_yes / n if isinstance(n, float) and n_yes is not None and n else None
            small = r["n_yes"] == Floor(self.k).marker
            cells.append({"name": g, "n": n, "share": share, "n_column": "n",
                          "share_column": "n_yes", "yes_small": small})  # fmt: skip
        cells.append({"name": "children of another or unrecorded gender", "n": None,
                      "unpublished": True, "n_column": "n (children minus boys and girls)",
                      "share_column": "n_yes"})  # fmt: skip
        self._partition("headline.csv", "", cells, total, positive)

    def targeting(self) -> None:
        rows = _rows(self.run_dir / "targeting.csv")
        total, positive = self._scored_totals()
        if not rows or total is None or positive is None:
            return
        previous = (0.0, 0.0)
        for r in rows:
            share, coverage = (
                _number(r.get("cumulative_share_of_cases")),
                _number(r.get("cumulative_coverage")),
            )
            if share is None or coverage is None:
                continue
            self.checked["targeting.csv"] = self.checked.get("targeting.csv", 0) + 1
            n = round((share - previous[0]) * total)
            yes = round((coverage - previous[1]) * positive)
            previous = (share, coverage)
            if 0 < yes < self.k or 0 < n - yes < self.k:
                self.findings.append(
                    Finding("targeting.csv", f"rank {r['rank']}", "cumulative columns", None,
                            None, "a rank group's held-out counts fall under k")
                )  # fmt: skip

    def data_report(self) -> None:
        report = _json(self.run_dir / "data_report.json") or {}
        for column, info in (report.get("unmapped_countries") or {}).items():
            if isinstance(info, Mapping):
                self.checked["data_report.json"] = self.checked.get("data_report.json", 0) + 1
                finding = _unmapped_finding(str(column), info, self.k)
                if finding is not None:
                    self.findings.append(finding)

    def outcome_counts(self) -> None:
        if self.n_total is None or self.n_positive is None:
            return
        for name, value in (
            ("target/n_positive", self.n_positive),
            ("target/n_rows - target/n_positive", self.n_total - self.n_positive),
        ):
            if 0 < value < self.k:
                self.findings.append(
                    Finding("metrics.json", name, "value", None, None, "a count under k")
                )


def _unmapped_finding(column: str, info: Mapping[str, Any], k: int) -> Finding | None:
    """The rarer unmapped values' cells are the total minus the values shown."""
    total, rarer = info.get("n_cells"), info.get("cells_in_rarer_values")
    shown = info.get("values_with_at_least_k_cells") or {}
    if not isinstance(total, int) or isinstance(rarer, int) or not isinstance(shown, Mapping):
        return None
    value = total - sum(int(v) for v in shown.values())
    if 0 < value < k:
        where = f"unmapped_countries.{column}"
        problem = "recovered within fewer than k"
        return Finding("data_report.json", where, "cells_in_rarer_values", value, value, problem)
    return None


def _cell(cell: str | None) -> float | str | None:
    """A count cell: its number, its marker (``"<k"``, ``"suppressed"``) or None (blank)."""
    number = _number(cell)
    if number is not None:
        return number
    if cell and (cell.startswith("<") or cell == SUPPRESSED):
        return cell
    return None
