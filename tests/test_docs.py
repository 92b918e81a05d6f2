"""Docs that must stay true to the code."""

from pathlib import Path

from ctdc_risk.data.schema import canonical_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_canonical_frame_doc_matches_schema():
    doc = (ROOT / "docs" / "canonical_frame.md").read_text()
    assert canonical_markdown() in doc


def test_readme_quick_start_is_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("##", 1)[0]
    commands = [ln.strip() for ln in quick.splitlines() if ln.strip().startswith("make ")]
    assert commands == ["make run", "make test"]


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
