"""``ctdc-risk [study]``: the factor study, tracked in MLflow unless ``tracking=none``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ctdc_risk.cli.run import (
    Outcome,
    finish,
    log_complete_run,
    progress,
    split_edge_blocks,
    tracked_run,
)

if TYPE_CHECKING:
    from ctdc_risk.cli.sweep import SweepJob

log = logging.getLogger("ctdc_risk")
# The value a sweeper optimises: the primary model's cross-validated ROC AUC.
OPTIMISED = "cv/roc_auc_mean"


def run(config: dict[str, Any], out_dir: Path, job: SweepJob | None) -> Outcome:
    """Build the :class:`~ctdc_risk.pipeline.specs.RunSpec` and run the study into ``out_dir``."""
    from ctdc_risk.cli import console
    from ctdc_risk.pipeline.specs import run_spec_from_mapping
    from ctdc_risk.pipeline.study import run_study
    from ctdc_risk.tracking import TrackingSpec

    config, tracking_cfg = split_edge_blocks(config)
    spec = run_spec_from_mapping(config)
    if spec.data.source == "synthetic":
        console.print_generated_banner()  # first, before any progress: and again in the summary
    tracking = TrackingSpec.from_mapping(tracking_cfg)
    if not tracking.enabled:
        with progress(job) as bar:
            result = run_study(spec, out_dir, progress=bar)
        finish(out_dir)
        console.print_study_summary(result)
        return Outcome(result.metrics[OPTIMISED], dict(result.metrics))
    from ctdc_risk.tracking import log_study, study_run_name

    cwd = Path.cwd()
    with tracked_run(tracking, config=config, run_name=study_run_name(spec), job=job) as tracked:
        with progress(job) as bar:
            result = run_study(spec, out_dir, progress=bar)
        finish(out_dir)  # before logging: the folder is complete, and MLflow gets no marker
        log.info("logging the run to MLflow")
        log_complete_run(
            lambda: log_study(tracked, result, experiment_name=tracking.experiment, cwd=cwd),
            out_dir,
            what="study",
        )
    console.print_study_summary(
        result, tracking=(tracked.run_id, tracked.tracking_uri, tracked.experiment_id)
    )
    return Outcome(result.metrics[OPTIMISED], dict(result.metrics), tracked.run_id)
