"""The audit's relations, file by file: what each published file of a run folder says about
its counts (sums, shares, markers, steps), written down for the bounding engine
(:class:`~ctdc_risk.audit.bounds.Bounds`).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ctdc_risk.audit.bounds import Bounds, Finding
from ctdc_risk.disclosure import LinearSystem
from ctdc_risk.privacy import SUPPRESSED, Floor


def read_json(path: Path) -> dict[str, Any] | None:
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


class RunAudit(Bounds):
    """The relations of each published file, bounded by :class:`Bounds`."""

    def __init__(
        self, run_dir: Path, k: int, metrics: dict[str, Any], factors: dict[str, Any]
    ) -> None:
        super().__init__(k)
        self.run_dir, self.metrics, self.factors = run_dir, metrics, factors
        self.n_total = _number(metrics.get("target/n_rows"))
        self.n_positive = _number(metrics.get("target/n_positive"))

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
        report = read_json(self.run_dir / "data_report.json") or {}
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
