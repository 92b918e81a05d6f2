"""The audit's bounding engine: each withheld count bounded by linear programming over the
relations a published file gives (:mod:`ctdc_risk.disclosure`), a finding where it is recovered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ctdc_risk.disclosure import LinearSystem, feasible_range, is_disclosed
from ctdc_risk.privacy import Floor

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


class Bounds:
    """Findings and checked counts of one audit, from the systems its files give."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.findings: list[Finding] = []
        self.checked: dict[str, int] = {}

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
