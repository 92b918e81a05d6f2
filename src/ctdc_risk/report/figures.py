"""Report figures (matplotlib, Agg backend): aggregated inputs only, never per-record points.

Every function takes tables that already passed the privacy floor and returns PNG bytes; each
figure is closed after saving. Colours are the Okabe-Ito palette, safe for colour-blind readers:
risk vermillion, protective blue, unclear grey.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from typing import Any

RISK = "#D55E00"
PROTECTIVE = "#0072B2"
UNCLEAR = "#999999"
NEUTRAL = "#009E73"
COLOURS = {
    "risk": RISK,
    "protective": PROTECTIVE,
    "unclear": UNCLEAR,
    "reference": UNCLEAR,
    "suppressed": UNCLEAR,
    "not estimable": UNCLEAR,
}
_LEGEND = {
    "risk": "has a risk level",
    "protective": "has a protective level",
    "unclear": "no clear level",
}


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 10, "axes.titlesize": 12, "figure.dpi": 100})
    return plt


def _png(fig: Any) -> bytes:
    plt = _plt()
    buf = io.BytesIO()
    fig.tight_layout()
    # "tight": labels longer than the figure's margins (an axis title, a long factor name) are
    # kept whole rather than cut at the edge.
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", pad_inches=0.15)
    plt.close(fig)
    return buf.getvalue()


# Odds-ratio ticks a reader knows without a logarithm: 0.1, 0.2, 0.5, 1, 2, 5, 10, ...
PLAIN_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)


def plain_ticks(low: float, high: float) -> list[float]:
    """The plain odds-ratio ticks covering ``low``..``high`` (always including 1).

    Examples
    --------
    >>> plain_ticks(0.3, 4.0)
    [0.2, 0.5, 1.0, 2.0, 5.0]
    """
    below = [t for t in PLAIN_TICKS if t <= min(low, 1.0)]
    above = [t for t in PLAIN_TICKS if t >= max(high, 1.0)]
    lo = below[-1] if below else PLAIN_TICKS[0]
    hi = above[0] if above else PLAIN_TICKS[-1]
    return [t for t in PLAIN_TICKS if lo <= t <= hi]


def _plain_log_axis(ax: Any, low: float, high: float) -> None:
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ticks = plain_ticks(low, high)
    ax.set_xscale("log")
    ax.set_xlim(ticks[0] / 1.15, ticks[-1] * 1.15)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    # A tall chart keeps its scale in view: ticks and numbers at the top as well.
    ax.tick_params(axis="x", top=True, labeltop=True)
    ax.grid(axis="x", color="#dddddd", lw=0.6)
    ax.set_axisbelow(True)


def forest_plot(rows: Sequence[dict[str, Any]], *, title: str) -> bytes:
    """Adjusted odds ratios with 95 % intervals, grouped by DoMV level and case phase."""
    plt = _plt()
    rows = list(rows)
    height = max(2.5, 0.3 * len(rows) + 1.6)
    fig, ax = plt.subplots(figsize=(10, height))
    y = list(range(len(rows)))[::-1]
    for yi, r in zip(y, rows, strict=True):
        colour = COLOURS[r["label"]]
        ax.plot([r["adjusted_or_low"], r["adjusted_or_high"]], [yi, yi], color=colour, lw=2)
        ax.plot(r["adjusted_or"], yi, "o", color=colour, ms=6)
    ax.axvline(1.0, color="black", lw=1, ls="--")
    if rows:
        _plain_log_axis(
            ax,
            min(r["adjusted_or_low"] for r in rows),
            max(r["adjusted_or_high"] for r in rows),
        )
    ax.set_yticks(y)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_yticklabels([textwrap.fill(r["display"], 48) for r in rows], fontsize=8)
    ax.set_xlabel("adjusted odds ratio (log scale; 1 = same odds as the reference level)")
    ax.set_title(title)
    handles = [
        plt.Line2D([], [], color=COLOURS[k], marker="o", lw=2, label=k)
        for k in ("risk", "protective", "unclear")
    ]
    # Beside the plot, never over an interval.
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _png(fig)


def importance_bars(items: Sequence[tuple[str, float, str]], *, title: str) -> bytes:
    """Mean |SHAP| per factor; bars coloured by the factor's labelled direction."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8.5, max(2.5, 0.32 * len(items) + 1.2)))
    y = list(range(len(items)))[::-1]
    ax.barh(y, [v for _, v, _ in items], color=[COLOURS[c] for _, _, c in items])
    ax.set_yticks(y)
    ax.set_yticklabels([name for name, _, _ in items])
    ax.set_xlabel(
        "average size of the factor's effect on the log-odds\n(mean |SHAP| over all cases)"
    )
    ax.set_title(title)
    handles = [
        plt.Rectangle(
            (0, 0),
            1,
            1,
            color=COLOURS[k],
            label=f"has a {k} level" if k != "unclear" else "no clear level",
        )
        for k in ("risk", "protective", "unclear")
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _png(fig)


def cohort_bars(
    factors: Sequence[str], groups: dict[str, tuple[int | None, dict[str, float]]], *, title: str
) -> bytes:
    """shap's cohort bar chart: mean |SHAP| of the same factors in two or more subgroups.

    ``groups`` maps a subgroup's name to its size and its mean |SHAP| per factor, already
    aggregated over at least k cases: the chart is drawn from those means, never from rows.
    """
    import numpy as np
    import shap  # slow to import (about 2 s): only when a report draws this chart

    plt = _plt()
    cohorts = {
        name: shap.Explanation(
            values=np.array([values.get(f, 0.0) for f in factors]), feature_names=list(factors)
        )
        for name, (_, values) in groups.items()
    }
    shap.plots.bar(cohorts, max_display=len(factors), show=False)
    fig = plt.gcf()
    fig.set_size_inches(8.5, max(2.5, 0.35 * len(factors) * max(2, len(groups)) + 1.4))
    ax = fig.axes[0]
    top = max((v for _, values in groups.values() for v in values.values()), default=0.0)
    ax.set_xlim(0, top * 1.25 or 1.0)  # room for shap's value labels
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(
        handles,
        [
            f"{name} ({n:,} cases)" if isinstance(n, int) else name
            for name, (n, _) in groups.items()
        ],
        frameon=False,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=10,
    )
    ax.set_xlabel("mean |SHAP| within the subgroup (log-odds)")
    ax.set_title(title)
    return _png(fig)


def reliability_plot(curves: dict[str, Sequence[tuple[float, float]]], *, title: str) -> bytes:
    """Observed share vs predicted probability per model (bins under k are left out)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], color="black", ls="--", lw=1, label="perfectly calibrated")
    palette = [PROTECTIVE, RISK, NEUTRAL]
    for i, (name, points) in enumerate(curves.items()):
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, "o-", color=palette[i % 3], label=name)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted chance (cross-validated)")
    ax.set_ylabel("observed share")
    ax.set_title(title)
    ax.legend(frameon=False, loc="upper left")
    return _png(fig)


def flow_bars(steps: Sequence[tuple[str, int | None]], *, title: str) -> bytes:
    """Cases left after each cohort and target rule."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8.5, max(2.0, 0.45 * len(steps) + 1.0)))
    y = list(range(len(steps)))[::-1]
    ax.barh(y, [n or 0 for _, n in steps], color=NEUTRAL)
    for yi, (_, n) in zip(y, steps, strict=True):
        ax.text(n or 0, yi, f"  {n:,}" if n is not None else "  suppressed", va="center")
    ax.set_yticks(y)
    ax.set_yticklabels([name for name, _ in steps])
    ax.set_xlabel("cases")
    ax.set_title(title)
    ax.margins(x=0.2)
    return _png(fig)


def gain_chart(
    heldout: Sequence[tuple[float, float]],
    training: Sequence[tuple[float, float]],
    *,
    top: int,
    title: str,
) -> bytes:
    """Cumulative share of outcome cases reached vs share of cases targeted, by profile."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 5.5))
    ax.plot([0, 1], [0, 1], color="black", ls="--", lw=1, label="no targeting (every case alike)")
    xs, ys = zip(*heldout, strict=True)
    ax.plot(xs, ys, "o-", color=NEUTRAL, lw=2.5, ms=7, label="on held-out cases")
    # drawn on top, thinner: where the two agree, both stay visible
    xs, ys = zip(*training, strict=True)
    ax.plot(xs, ys, "o:", color="#555555", lw=1, ms=3, label="where the profiles were learnt")
    if 0 < top < len(heldout):
        x, y = heldout[top]
        ax.annotate(
            f"top {top}: {y:.0%} of outcome cases\nin {x:.0%} of cases",
            (x, y),
            textcoords="offset points",
            xytext=(12, -28),
            arrowprops={"arrowstyle": "-", "color": "#555555"},
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("share of cases in the profiles reached (highest rate first)")
    ax.set_ylabel("share of outcome cases reached")
    ax.set_title(title)
    ax.legend(frameon=False, loc="lower right", fontsize=8)
    return _png(fig)


RELEASE_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
_PLAIN_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)

Interval = tuple[float, float, float]


def release_forest_plot(
    levels: Sequence[str],
    estimates: Sequence[Sequence[Interval | None]],
    pooled: Sequence[Interval | None],
    releases: Sequence[str],
    *,
    title: str,
) -> bytes:
    """One factor's levels, each with its odds ratio and 95 % interval per release side by side
    and the pooled estimate (a black diamond). A level a release could not estimate has no mark
    in that release's colour; the replication table says why.

    ``estimates[i][j]`` is level ``i`` in release ``j`` as ``(odds ratio, low, high)`` or None.
    """
    plt = _plt()
    n_rel = len(releases)
    step = 1.0 / (n_rel + 2)
    height = max(2.5, (0.28 * (n_rel + 1) + 0.25) * len(levels) + 1.6)
    fig, ax = plt.subplots(figsize=(11, height))
    values: list[float] = [1.0]
    for i, level_estimates in enumerate(estimates):
        base = len(levels) - 1 - i
        for j, est in enumerate(level_estimates):
            if est is None:
                continue
            y = base + (n_rel - j) * step
            colour = RELEASE_COLOURS[j % len(RELEASE_COLOURS)]
            ax.plot([est[1], est[2]], [y, y], color=colour, lw=2)
            ax.plot(est[0], y, "o", color=colour, ms=5)
            values += [est[1], est[2]]
        if pooled[i] is not None:
            point, low, high = pooled[i]  # type: ignore[misc]
            ax.fill(
                [low, point, high, point], [base, base + step * 0.4, base, base - step * 0.4],
                color="black",
            )  # fmt: skip
            values += [low, high]
    ax.axvline(1.0, color="black", lw=1, ls="--")
    ax.set_xscale("log")
    lo, hi = min(values), max(values)
    ticks = [t for t in _PLAIN_TICKS if lo / 1.5 <= t <= hi * 1.5] or [1.0]
    ax.set_xlim(min(lo, ticks[0]) / 1.3, max(hi, ticks[-1]) * 1.3)
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_yticks([len(levels) - 1 - i + n_rel * step / 2 for i in range(len(levels))])
    ax.set_yticklabels([textwrap.fill(level, 24) for level in levels], fontsize=9)
    ax.set_ylim(-0.5, len(levels))
    ax.set_xlabel("adjusted odds ratio (log scale; 1 = same odds as the reference level)")
    ax.set_title(textwrap.fill(title, 70))
    handles = [
        plt.Line2D([], [], color=RELEASE_COLOURS[j % len(RELEASE_COLOURS)], marker="o", lw=2,
                   label=textwrap.shorten(name, 45))
        for j, name in enumerate(releases)
    ]  # fmt: skip
    handles.append(plt.Line2D([], [], color="black", marker="D", lw=0, label="pooled"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
              fontsize=8)  # fmt: skip
    return _png(fig)
