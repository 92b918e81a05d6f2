"""``ctdc-risk compare``: finished MLflow runs side by side (its settings: the ``compare`` block
of ``conf/config.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ctdc_risk.cli.run import Outcome, finish
from ctdc_risk.validate import Constraints, Interval, ListOf, OrNone, Text, from_mapping

if TYPE_CHECKING:
    from ctdc_risk.cli.sweep import SweepJob


@dataclass(frozen=True)
class CompareSpec:
    """The runs to set side by side (exactly one of an experiment's finished runs, a sweep's
    child runs or a list of run ids; :func:`ctdc_risk.tracking.fetch_runs` checks that), and
    how many of each run's top-ranked factors to show."""

    _constraints: ClassVar[Constraints] = {
        "experiment": OrNone(Text(scalars=True)),
        "parent": OrNone(Text(scalars=True)),
        "runs": OrNone(ListOf(Text(scalars=True), example="ID,ID")),
        "top": Interval(int, 1, None),
    }
    experiment: str | None = None
    parent: str | None = None
    runs: tuple[str, ...] | None = None
    top: int = 15


def run(config: dict[str, Any], out_dir: Path, job: SweepJob | None) -> Outcome:
    """Fetch the runs, build the comparison, write comparison.md/.csv/.html; the value a
    sweeper reads is how many levels differ."""
    from ctdc_risk.cli import console
    from ctdc_risk.privacy import PrivacySpec
    from ctdc_risk.report.comparison import build_comparison
    from ctdc_risk.report.comparison_render import write_comparison
    from ctdc_risk.tracking import TrackingSpec, fetch_runs

    spec = from_mapping(CompareSpec, config.get("compare") or {}, "compare")
    privacy = from_mapping(PrivacySpec, config.get("privacy") or {}, "privacy")
    tracking = TrackingSpec.from_mapping(config.get("tracking") or {"enabled": False})
    summaries = fetch_runs(
        tracking,
        cwd=Path.cwd(),
        experiment=spec.experiment,
        parent=spec.parent,
        run_ids=spec.runs or (),
    )
    comparison = build_comparison(summaries, top=spec.top, k=privacy.k)
    files = write_comparison(comparison, out_dir, k=privacy.k)
    console.print_comparison(comparison, files)
    finish(out_dir)
    return Outcome(float(comparison.n_differ))
