"""What the terminal shows: commands and paths are printed whole, whatever the width."""

from __future__ import annotations

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
