"""``ctdc-risk [study]``: the factor study, tracked in MLflow unless ``tracking=none``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ctdc_risk.cli.run import Outcome, run_maybe_tracked, split_edge_blocks

if TYPE_CHECKING:
    from ctdc_risk.cli.sweep import SweepJob

# The value a sweeper optimises: the primary model's cross-validated ROC AUC.
OPTIMISED = "cv/roc_auc_mean"


def run(config: dict[str, Any], out_dir: Path, job: SweepJob | None) -> Outcome:
    """Build the :class:`~ctdc_risk.pipeline.specs.RunSpec` and run the study into ``out_dir``."""
    from ctdc_risk.cli import console
    from ctdc_risk.pipeline.specs import run_spec_from_mapping
    from ctdc_risk.pipeline.study import run_study
    from ctdc_risk.tracking import log_study

    config, tracking_cfg = split_edge_blocks(config)
    spec = run_spec_from_mapping(config)
    result, tracked = run_maybe_tracked(
        spec,
        tracking_cfg,
        config=config,
        job=job,
        out_dir=out_dir,
        execute=lambda bar: run_study(spec, out_dir, progress=bar),
        log_run=log_study,
        what="study",
    )
    console.print_study_summary(
        result,
        tracking=None
        if tracked is None
        else (tracked.run_id, tracked.tracking_uri, tracked.experiment_id),
    )
    return Outcome(
        result.metrics[OPTIMISED], dict(result.metrics), tracked.run_id if tracked else ""
    )
