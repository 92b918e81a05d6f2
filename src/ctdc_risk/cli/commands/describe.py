"""``ctdc-risk describe``: headline tables, no model (every case unless a cohort is chosen:
``conf/command/describe.yaml``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ctdc_risk.cli.run import Outcome, finish, split_edge_blocks

if TYPE_CHECKING:
    from ctdc_risk.cli.sweep import SweepJob


def run(config: dict[str, Any], out_dir: Path, job: SweepJob | None) -> Outcome:
    """Build the :class:`~ctdc_risk.pipeline.specs.DescribeSpec` and write the headline tables;
    the value a sweeper reads is the children's share with family recruitment."""
    from ctdc_risk.cli import console
    from ctdc_risk.pipeline.describe import run_describe
    from ctdc_risk.pipeline.specs import describe_spec_from_mapping

    config, _ = split_edge_blocks(config)  # describe is never tracked
    spec = describe_spec_from_mapping(config)
    if spec.data.source == "synthetic":
        console.print_generated_banner()  # first, before any progress: and again in the summary
    described = run_describe(spec, out_dir)
    finish(out_dir)
    console.print_describe_summary(described)
    share = described.headline.family["children"].share
    return Outcome(float("nan") if share is None else share)
