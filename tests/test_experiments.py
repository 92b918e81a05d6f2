"""Every named study in experiments/ composes and runs on small synthetic data."""

import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest

from ctdc_risk.cli.compose import compose_spec
from ctdc_risk.data.raw_format import write_release_file
from ctdc_risk.data.synthetic import generate_synthetic
from ctdc_risk.pipeline.describe import run_describe
from ctdc_risk.pipeline.replicate import run_replication
from ctdc_risk.pipeline.study import run_study

EXPERIMENTS = sorted(
    f.name.removesuffix(".yaml")
    for f in (files("ctdc_risk.conf") / "experiment").iterdir()
    if f.name.endswith(".yaml")
)
SMALL = ["data.n_rows=8000", "stability.n_boot=4", "stability.n_jobs=1", "cv.n_splits=3"]


@pytest.mark.slow
@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_runs_on_synthetic_data(name, tmp_path):
    spec = compose_spec([f"experiment={name}", *SMALL])
    if spec.command == "describe":
        result = run_describe(spec, tmp_path)
        assert result.headline.family["children"].share is not None
    elif spec.command == "replicate":
        # The same small synthetic population in two release layouts.
        frame = generate_synthetic(8000, seed=spec.seed)
        files = [
            write_release_file(frame, tmp_path / f"{r}.csv", r)
            for r in ("synthetic_2021", "synthetic_2024")
        ]
        replication = run_replication(spec, files, tmp_path / "run")
        assert (tmp_path / "run" / "replication.html").exists()
        assert len(replication.studies) == 2 and replication.table.rows
    else:
        result = run_study(spec, tmp_path)
        assert (tmp_path / "report.html").exists()
        # Synthetic data plants effects for family recruitment only; other targets may score
        # at chance, which is the honest answer there.
        assert 0.0 <= result.metrics["cv/roc_auc_mean"] <= 1.0
        assert result.metrics["baseline/roc_auc_mean"] == pytest.approx(0.5)
        if name == "boys_girls_interactions":
            assert spec.explain.interaction_levels == "all"
            assert result.interactions is not None
            assert [m.name for m in result.interactions.modifiers] == ["gender", "age_0_8_9_17"]
            assert result.metrics["interactions/gender/tested"] >= 1
            assert (tmp_path / "interactions.csv").exists()
            assert "## Does it differ for boys and girls?" in (tmp_path / "report.md").read_text()


@pytest.mark.slow
def test_a_sweep_experiment_runs_every_job_through_the_cli(tmp_path):
    exe = str(Path(sys.executable).with_name("ctdc-risk"))
    out = subprocess.run(
        [exe, "-m", "experiment=boys_vs_girls_family", "tracking=none", *SMALL,
         f"hydra.sweep.dir={tmp_path / 'sweep'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env={**os.environ, "HYDRA_FULL_ERROR": "0"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    reports = sorted((tmp_path / "sweep").glob("*/report.html"))
    assert len(reports) == 2
    # Each job's progress is named by its number; after each job, the sweep's jobs done of all.
    assert "... job 1: bootstrap refits" in out.stdout
    assert "1/2 jobs done" in out.stdout and "2/2 jobs done" in out.stdout
    assert "[INFO]" not in out.stdout
