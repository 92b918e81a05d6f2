"""What the terminal shows (rich, never inside library code)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from ctdc_risk.cli.sweep import SweepOutcome
    from ctdc_risk.pipeline.describe import DescribeResult
    from ctdc_risk.pipeline.replicate import ReplicationResult
    from ctdc_risk.pipeline.study import StudyResult
    from ctdc_risk.report.comparison import Comparison
    from ctdc_risk.targeting.table import TargetingTable


def _console() -> Console:
    # soft_wrap: rich never breaks a line, so a printed command or path stays whole for a user
    # to copy, whatever the terminal width (COLUMNS) or the length of the paths in it; the
    # terminal itself wraps long lines on screen.
    return Console(highlight=False, soft_wrap=True)


@contextmanager
def progress() -> Iterator[Callable[[str], None]]:
    """A spinner showing the study's current step (plain lines when not a terminal)."""
    console = _console()
    if not console.is_terminal:
        yield lambda msg: console.print(f"... {msg}")
        return
    with console.status("starting") as status:
        yield lambda msg: status.update(f"{msg} ...")


def _print_data(console: Console, lines: list[str]) -> None:
    console.print()
    console.print("[bold]Data[/bold]")
    for line in lines:
        console.print(f"  {line}")


def print_describe_summary(result: DescribeResult) -> None:
    console = _console()
    _print_data(console, result.data_report.summary_lines(result.headline.k))
    h = result.headline
    console.print()
    console.print(f"[bold]Family recruitment[/bold] (cohort {h.cohort}, {h.n_cohort:,} cases)")
    for group, share in h.family.items():
        if share.share is None or share.ci95 is None:
            shown = f"suppressed (<{h.k} cases)"
        else:
            lo, hi = share.ci95
            shown = f"{share.share:.1%} (95 % CI {lo:.1%} to {hi:.1%}) of {share.n:,}"
        console.print(f"  {group:<9} {shown}")
    ratio = h.child_adult_ratio
    if ratio.ratio is not None and ratio.ci95 is not None:
        console.print(
            f"  children vs adults: {ratio.ratio:.1f}x "
            f"(95 % CI {ratio.ci95[0]:.1f} to {ratio.ci95[1]:.1f})"
        )
    console.print()
    console.print(f"[bold]Outputs[/bold] in {escape(str(result.out_dir))}")
    for path in result.files:
        console.print(f"  {path.name}")


def print_study_summary(result: StudyResult, *, tracking: tuple[str, str] | None = None) -> None:
    console = _console()
    _print_data(console, result.data_report.summary_lines(result.spec.privacy.k))
    spec = result.spec
    assert spec.target is not None
    console.print()
    console.print(f"[bold]Study[/bold]: {spec.target.description} (cohort {spec.cohort.name})")
    console.print(
        f"  {len(result.target.y):,} cases, {result.target.n_positive:,} "
        f"{spec.target.outcome_words} ({result.target.prevalence:.1%})"
    )
    m = result.metrics
    for name in result.cv:
        console.print(
            f"  {name:<9} ROC AUC {m[f'cv/{name}/roc_auc_mean']:.3f} "
            f"± {m[f'cv/{name}/roc_auc_std']:.3f}"
        )
    console.print(f"  baseline  ROC AUC {m['baseline/roc_auc_mean']:.3f} (prevalence only)")
    for kind, words in (("country", "grouped by country"), ("temporal", "on later years")):
        auc = m.get(f"transport/{kind}/roc_auc")
        if auc is not None:
            console.print(f"  {result.primary_model} {words}: ROC AUC {auc:.3f}")
    console.print()
    console.print(
        f"[bold]Factors[/bold] (SHAP from {result.primary_model}; "
        f"{result.stability.n_boot} bootstrap refits)"
    )
    shown = 0
    for row in result.table.rows:
        if row.label in ("risk", "protective") and shown < 8:
            console.print(
                f"  {row.label:<10} {row.factor_label}: {row.level}"
                f" (adjusted OR {row.adjusted_or:.2f} vs {row.reference_level},"
                f" q {row.q_value:.2g})"
            )
            shown += 1
    if shown == 0:
        console.print("  no factor met the rule for risk or protective (see factors.csv)")
    if result.targeting is not None:
        _print_targeting(console, result.targeting, spec.target.outcome_words)
    console.print()
    names = sorted(p.name for p in result.files if p.parent == result.out_dir)
    console.print(f"[bold]Outputs[/bold] in {escape(str(result.out_dir))}: {', '.join(names)}")
    if tracking is not None:
        from ctdc_risk.tracking import redact

        run_id, uri = tracking
        mlflow_exe = Path(sys.executable).with_name("mlflow")
        store = escape(redact(uri))
        console.print(f"[bold]MLflow run[/bold] {run_id} in {store}")
        console.print(
            f"  open the UI with: {escape(str(mlflow_exe))} ui --backend-store-uri {store}"
        )
    console.print(f"[bold]Report[/bold]: {escape(str(result.out_dir / 'report.html'))}")


def print_replication_summary(
    result: ReplicationResult, *, tracking: tuple[str, str] | None = None
) -> None:
    from ctdc_risk.replication import CANNOT_TEST, REFERENCE

    console = _console()
    spec = result.spec
    assert spec.target is not None
    table = result.table
    console.print()
    console.print(
        f"[bold]Replication[/bold]: {spec.target.description} (cohort {spec.cohort.name}) "
        f"on {len(result.releases)} files"
    )
    for i, r in enumerate(result.releases, 1):
        cases = f"{r.n_cases:,} cases" if r.n_cases is not None else f"<{table.k} cases"
        console.print(f"  {i}. {r.name}: {r.release_id}, {cases} ({r.folder}/)")
        for factor, why in r.other_reference.items():
            console.print(f"     {factor} {why}")
    console.print()
    counts = table.counts()
    console.print(
        "[bold]Verdicts[/bold] ("
        + ", ".join(f"{n} {verdict}" for verdict, n in counts.items())
        + ")"
    )
    shown = [r for r in table.rows if r.verdict not in (REFERENCE, CANNOT_TEST)]
    for row in shown:
        ors = ", ".join(
            f"{e.odds_ratio:.2f}" if e.status == "estimated" and e.odds_ratio else e.status
            for e in row.estimates
        )
        pooled = f"; pooled {row.pooled.odds_ratio:.2f}" if row.pooled else ""
        i2 = (
            f", I² {row.pooled.i2:.0%}" if row.pooled is not None and row.pooled.i2 is not None
            else ""
        )  # fmt: skip
        console.print(
            f"  {row.verdict:<42} {row.display} vs {row.reference_level} (OR {ors}{pooled}{i2})"
        )
    untested = counts.get(CANNOT_TEST, 0)
    if untested:
        console.print(f"  and {untested} levels that cannot be tested (reasons in replication.md)")
    console.print()
    names = sorted(p.name for p in result.files if p.parent == result.out_dir)
    console.print(f"[bold]Outputs[/bold] in {result.out_dir}: {', '.join(names)}")
    if tracking is not None:
        from ctdc_risk.tracking import redact

        run_id, uri = tracking
        console.print(f"[bold]MLflow run[/bold] {run_id} in {redact(uri)}")
    console.print(f"[bold]Report[/bold]: {result.out_dir / 'replication.html'}")


def _print_targeting(console: Console, table: TargetingTable, outcome_words: str) -> None:
    from ctdc_risk.targeting.table import SCHEME_WORDS

    console.print()
    lowest = table.most_conservative()
    where = SCHEME_WORDS.get(lowest.scheme, lowest.scheme)
    if lowest.holds_every_case or lowest.lift is None:
        console.print(
            f"[bold]Targeting[/bold] (held-out, {where}): no profile set apart from the rest; "
            "the top profiles hold every case"
        )
    else:
        console.print(
            f"[bold]Targeting[/bold] (held-out, {where}, the lowest lift): the top "
            f"{lowest.top} of {len(table.rows)} profiles hold {lowest.coverage:.0%} of the "
            f"cases {outcome_words}, in {lowest.share:.0%} of all cases (lift {lowest.lift:.2f})"
        )
    lifts = [
        f"{'no profile set apart' if s.holds_every_case else f'{s.lift:.2f}'} "
        f"({SCHEME_WORDS.get(s.scheme, s.scheme)})"
        for s in table.schemes
        if s.made
    ]
    console.print(f"  top-profile lift, held out: {', '.join(lifts)}")
    top = table.top
    for row in table.rows[:top]:
        h = row.heldout
        figures = (
            f"{h.rate:.0%} {outcome_words}, {h.coverage:.0%} of such cases"
            if h is not None
            else "not learnt again without the held-out cases"
            if not row.folds_found
            else f"held-out figures rest on fewer than {table.k} cases on one side"
        )
        console.print(f"  {row.rank}. {row.profile} ({row.n_cases:,} cases): {figures}")


def print_sweep_summary(outcome: SweepOutcome) -> None:
    console = _console()
    done = len(outcome.jobs) - len(outcome.failed)
    console.print()
    console.print(f"[bold]Sweep[/bold]: {done} of {len(outcome.jobs)} jobs finished")
    for path in outcome.summary_files:
        console.print(f"  summary: {escape(str(path))}")
    if outcome.parent_run_id:
        from ctdc_risk.tracking import redact

        uri = escape(redact(outcome.tracking_uri))
        console.print(f"[bold]MLflow parent run[/bold] {outcome.parent_run_id} in {uri}")
        console.print(
            f"  compare its jobs with: ctdc-risk compare compare.parent={outcome.parent_run_id}"
        )


def print_comparison(comparison: Comparison, files: list[Path]) -> None:
    console = _console()
    console.print(
        f"[bold]Compared[/bold] {len(comparison.runs)} runs: {', '.join(comparison.columns)}"
    )
    console.print(f"  {escape(comparison.headline())}")
    for path in files:
        console.print(f"  {escape(str(path))}")
