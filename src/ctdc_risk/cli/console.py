"""What the terminal shows (rich, never inside library code)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


class _Bars:
    """:class:`ctdc_risk.pipeline.progress.Progress` as rich progress bars: one per step, with
    units done of the total, time elapsed and time left."""

    def __init__(self, bars: Any, check: Callable[[], None]) -> None:
        self._bars = bars
        self._check = check
        self._task: Any = None

    def _finish(self) -> None:
        if self._task is not None:
            task = self._bars.tasks[-1]
            self._bars.update(self._task, total=task.total or 1, completed=task.total or 1)

    def step(self, name: str, total: int | None = None) -> None:
        self._check()
        self._finish()
        self._task = self._bars.add_task(name, total=total)

    def advance(self, n: int = 1) -> None:
        self._check()
        if self._task is not None:
            self._bars.advance(self._task, n)

    def close(self) -> None:
        self._finish()


class _Lines:
    """The same progress as plain lines (not a terminal, or a sweep job sharing one): each step,
    and each quarter of its units."""

    def __init__(self, console: Console, check: Callable[[], None], label: str) -> None:
        self._console, self._check, self._label = console, check, label
        self._name, self._total, self._done = "", 0, 0

    def step(self, name: str, total: int | None = None) -> None:
        self._check()
        self._name, self._total, self._done = name, total or 0, 0
        self._console.print(f"... {self._label}{name}")

    def advance(self, n: int = 1) -> None:
        self._check()
        before, self._done = self._done, self._done + n
        if self._total and (4 * before) // self._total != (4 * self._done) // self._total:
            self._console.print(f"... {self._label}{self._name}: {self._done} of {self._total}")


def _terminal_log_handlers() -> list[logging.StreamHandler[Any]]:
    return [
        h
        for h in logging.getLogger().handlers
        if type(h) is logging.StreamHandler and h.stream in (sys.stdout, sys.stderr)
    ]


@contextmanager
def progress(
    *, check: Callable[[], None] = lambda: None, label: str = "", plain: bool = False
) -> Iterator[Any]:
    """Progress bars for the study's steps (plain lines when not a terminal, or ``plain``).

    Yields a :class:`ctdc_risk.pipeline.progress.Progress`; ``check`` runs at every update
    (it raises to stop the run). Log lines shown on the terminal (``-v``) are printed above
    the bars, never through them.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = _console()
    if plain or not console.is_terminal:
        yield _Lines(console, check, label)
        return
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
    )
    handlers = _terminal_log_handlers()
    streams = [h.stream for h in handlers]
    stdout = sys.stdout
    with Progress(*columns, console=console, transient=False) as bars:
        for handler in handlers:  # sys.stdout/err are now rich's proxies: lines go above
            handler.setStream(sys.stdout if handler.stream is stdout else sys.stderr)
        shown = _Bars(bars, check)
        try:
            yield shown
            shown.close()
        finally:
            for handler, stream in zip(handlers, streams, strict=True):
                handler.setStream(stream)


def print_sweep_progress(done: int, total: int, elapsed: float) -> None:
    """One line after each sweep job: a bar, jobs done of all, time elapsed and left."""
    from rich.progress_bar import ProgressBar
    from rich.table import Table

    def clock(seconds: float) -> str:
        m, s = divmod(int(seconds), 60)
        return f"{m // 60}:{m % 60:02d}:{s:02d}"

    left = elapsed / done * (total - done) if done and total >= done else None
    line = Table.grid(padding=(0, 1))
    line.add_row(
        "sweep",
        ProgressBar(total=max(total, 1), completed=min(done, total), width=30),
        f"{done}/{total} jobs done, {clock(elapsed)} elapsed, "
        + (f"about {clock(left)} left" if left is not None else "time left unknown"),
    )
    _console().print(line)


def print_generated_banner() -> None:
    """The line a run on generated data opens with."""
    _print_banner(_console(), True)


def _print_banner(console: Console, generated: bool) -> None:
    if generated:
        from ctdc_risk.data.data_report import GENERATED_BANNER

        console.print()
        console.print(f"[bold black on yellow] {GENERATED_BANNER.upper()} [/]")


def _print_data(console: Console, lines: list[str]) -> None:
    console.print()
    console.print("[bold]Data[/bold]")
    for line in lines:
        console.print(f"  {line}")


def print_describe_summary(result: DescribeResult) -> None:
    console = _console()
    _print_banner(console, result.data_report.generated)
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


def print_study_summary(
    result: StudyResult, *, tracking: tuple[str, str, str] | None = None
) -> None:
    from ctdc_risk.report.content import short_phrase, study_cautions

    console = _console()
    _print_banner(console, result.data_report.generated)
    _print_data(console, result.data_report.summary_lines(result.floor.k))
    spec = result.spec
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
    cautions = study_cautions(
        len(result.target.y),
        result.target.n_positive,
        m["cv/roc_auc_mean"],
        m["baseline/roc_auc_mean"],
        outcome_words=spec.target.outcome_words,
    )
    for caution in cautions:
        console.print(f"  [bold yellow]Note:[/] {escape(caution)}")
    console.print()
    console.print(
        f"[bold]Factors[/bold] (SHAP from {result.primary_model}; "
        f"{result.stability.n_boot} bootstrap refits)"
    )
    shown = 0
    for row in result.table.rows:
        if row.label in ("risk", "protective") and shown < 8:
            # Plain words, never the data's codes ("0--8", "trans_nonconforming").
            console.print(
                f"  {row.label:<10} {short_phrase(row.factor, row.level)}"
                f" (adjusted OR {row.adjusted_or:.2f} against"
                f" {short_phrase(row.factor, row.reference_level)}, q {row.q_value:.2g})"
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
        from ctdc_risk.tracking import redact, runs_page

        run_id, uri, experiment_id = tracking
        mlflow_exe = Path(sys.executable).with_name("mlflow")
        store = escape(redact(uri))
        console.print(f"[bold]MLflow run[/bold] {run_id} in {store}")
        console.print(
            f"  open the UI with: {escape(str(mlflow_exe))} ui --backend-store-uri {store}"
        )
        # MLflow 3's UI opens on its GenAI pages in a new browser; this address shows the runs.
        console.print(f"  then browse to: http://127.0.0.1:5000/{runs_page(experiment_id)}")
    console.print(f"[bold]Report[/bold]: {escape(str(result.out_dir / 'report.html'))}")


def print_replication_summary(
    result: ReplicationResult, *, tracking: tuple[str, str] | None = None
) -> None:
    from ctdc_risk.privacy import Floor
    from ctdc_risk.replication import CANNOT_TEST, REFERENCE

    console = _console()
    spec = result.spec
    table = result.table
    console.print()
    console.print(
        f"[bold]Replication[/bold]: {spec.target.description} (cohort {spec.cohort.name}) "
        f"on {len(result.releases)} files"
    )
    for i, r in enumerate(result.releases, 1):
        cases = f"{r.n_cases:,}" if r.n_cases is not None else Floor(table.k).marker
        cases += " cases"
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
    # The runs' names are the column heads of the written table; the console gives the count
    # and one short line per group, so nothing wraps in an 80-column terminal.
    groups = len(comparison.sections)
    console.print(
        f"[bold]Compared[/bold] {len(comparison.runs)} runs in {groups} "
        f"group{'s' if groups != 1 else ''}"
    )
    for line in comparison.headline().splitlines():
        console.print(f"  {escape(line.strip())}")
    for path in files:
        console.print(f"  {escape(str(path))}")
