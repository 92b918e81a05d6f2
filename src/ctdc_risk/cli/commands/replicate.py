"""``ctdc-risk replicate``: the study on every file of ``replicate.data``, side by side (one
MLflow run)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ctdc_risk.cli.run import Outcome, run_maybe_tracked, split_edge_blocks

if TYPE_CHECKING:
    from ctdc_risk.cli.sweep import SweepJob
    from ctdc_risk.pipeline.replicate import ReplicationResult

# The value a sweeper optimises: how many factor levels replicate.
OPTIMISED = "replication/levels_replicate"


def run(config: dict[str, Any], out_dir: Path, job: SweepJob | None) -> Outcome:
    """Build the study's :class:`~ctdc_risk.pipeline.specs.RunSpec` and the
    :class:`~ctdc_risk.pipeline.specs.ReplicateSpec` (files, names), then run the replication."""
    from ctdc_risk.cli import console
    from ctdc_risk.pipeline.replicate import run_replication
    from ctdc_risk.pipeline.specs import replicate_spec_from_mapping, run_spec_from_mapping
    from ctdc_risk.tracking import log_replication

    config, tracking_cfg = split_edge_blocks(config)
    spec = run_spec_from_mapping(config)
    files = replicate_spec_from_mapping(config.get("replicate"))

    def replicate(bar: Any) -> ReplicationResult:
        # Each study's steps show as lines of the one display (a stop signal ends the run).
        return run_replication(
            spec, files.data, out_dir, names=files.names, progress=lambda msg: bar.step(msg)
        )

    result, tracked = run_maybe_tracked(
        spec,
        tracking_cfg,
        config=config,
        job=job,
        out_dir=out_dir,
        execute=replicate,
        log_run=log_replication,
        what="replication",
        label_job=False,
    )
    console.print_replication_summary(
        result, tracking=None if tracked is None else (tracked.run_id, tracked.tracking_uri)
    )
    return Outcome(
        result.metrics[OPTIMISED], dict(result.metrics), tracked.run_id if tracked else ""
    )
