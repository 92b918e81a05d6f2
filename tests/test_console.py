"""What the terminal shows: commands and paths are printed whole, whatever the width."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ctdc_risk.cli.console import print_sweep_summary
from ctdc_risk.cli.sweep import SweepOutcome


@pytest.mark.parametrize("columns", ["40", "300"])
def test_commands_and_paths_are_never_wrapped(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    columns: str,
) -> None:
    """A user copies these lines: at 40 or 300 columns each is one line, as printed."""
    monkeypatch.setenv("COLUMNS", columns)
    deep = tmp_path.joinpath(*["a-deliberately-long-folder-name"] * 4, "[sweep 1]")
    store = f"sqlite:///{deep / 'mlflow.db'}"
    summary = deep / "sweep_summary.csv"
    outcome = SweepOutcome(
        sweep_dir=deep, jobs=[], summary_files=[summary], parent_run_id="0" * 32,
        tracking_uri=store,
    )  # fmt: skip
    print_sweep_summary(outcome)
    lines = capsys.readouterr().out.splitlines()
    assert f"  summary: {summary}" in lines
    assert f"MLflow parent run {'0' * 32} in {store}" in lines
    assert f"  compare its jobs with: ctdc-risk compare compare.parent={'0' * 32}" in lines


def test_progress_bars_show_counts_and_time_left_and_sweeps_a_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a terminal each step is a bar with units done of the total and the time left; log
    lines shown with -v are printed above the bars, never through them."""
    import io
    import logging

    from rich.console import Console

    from ctdc_risk.cli import console

    out = io.StringIO()
    monkeypatch.setattr(
        console, "_console", lambda: Console(file=out, force_terminal=True, width=120)
    )
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stdout)
    root.addHandler(handler)
    try:
        with console.progress() as bar:
            bar.step("bootstrap refits", total=8)
            for _ in range(3):
                bar.advance()
            assert handler.stream is not sys.__stdout__  # routed through rich while shown
            bar.step("targeting folds", total=5)
            bar.advance(5)
        assert handler.stream is sys.stdout  # restored
    finally:
        root.removeHandler(handler)
    text = out.getvalue()
    assert "bootstrap refits" in text and "8/8" in text and "5/5" in text and "left" in text

    out.seek(0)
    out.truncate(0)
    console.print_sweep_progress(3, 8, 60.0)
    line = out.getvalue().strip()
    assert (
        line.startswith("sweep")
        and "━" in line
        and "3/8 jobs done, 0:01:00 elapsed, about 0:01:40 left" in line
    )


def test_plain_progress_for_notebooks_and_logs() -> None:
    from ctdc_risk.pipeline.progress import Progress, as_progress

    lines: list[str] = []
    progress = as_progress(lines.append)
    assert isinstance(progress, Progress)
    progress.step("targeting folds", total=2)
    progress.advance()
    assert lines == ["targeting folds", "targeting folds: 1 of 2 done"]
