"""experiments/quickstart.ipynb runs as a notebook user runs it, cell after cell.

Its code cells are run in order in one fresh Python process (not through a Jupyter kernel:
the cells are plain Python with no magics, and nbclient would add a kernel, ZeroMQ and
Tornado to the dev dependencies for no extra check).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "experiments" / "quickstart.ipynb"


@pytest.mark.slow
def test_quickstart_notebook_runs_every_cell(tmp_path: Path) -> None:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    lines = [line.lstrip() for cell in code for line in cell.splitlines()]
    assert code and not any(line.startswith(("%", "!")) for line in lines)  # plain Python
    out = subprocess.run(
        [sys.executable, "-c", "\n\n".join(code)], cwd=tmp_path, capture_output=True,
        text=True, timeout=600, env={**os.environ, "TMPDIR": str(tmp_path)},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "bootstrap refits: 8 of 8 done" in out.stdout
    assert "report:" in out.stdout and out.stdout.strip().endswith("report.html")
    report = Path(out.stdout.strip().rsplit("report: ", 1)[1])
    assert report.is_file()
