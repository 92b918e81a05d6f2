"""The ``describe`` command: headline tables for a data source and cohort."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ctdc_risk.cohort import select_cohort
from ctdc_risk.data.data_report import DataReport
from ctdc_risk.data.source import load_data
from ctdc_risk.errors import StudyError
from ctdc_risk.headline import Headline, build_headline
from ctdc_risk.outputs import write_csv, write_json, write_text
from ctdc_risk.pipeline.specs import DescribeSpec
from ctdc_risk.privacy import suppress_chain
from ctdc_risk.report.headline_tables import headline_json, headline_markdown, headline_rows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DescribeResult:
    """What ``describe`` produced and where."""

    out_dir: Path
    data_report: DataReport
    headline: Headline
    files: tuple[Path, ...]


def run_describe(spec: DescribeSpec, out_dir: Path) -> DescribeResult:
    """Load data, select the cohort and write the headline tables into ``out_dir``.

    Writes ``data_report.json``, ``cohort_flow.csv``, ``headline.md``, ``headline.csv`` and
    ``headline.json``. Nothing is written if loading or cohort selection fails.
    """
    k = spec.privacy.k
    dataset = load_data(spec.data, seed=spec.seed, k=k)
    log.info("data: %d rows (%s)", len(dataset.frame), dataset.release_id)
    cohort = select_cohort(dataset.frame, spec.cohort)
    flow_markers = suppress_chain([n for _, n in cohort.flow.steps], k=k)
    for (rule, n), shown in zip(cohort.flow.steps, flow_markers, strict=True):
        # the log file is published too (it is in the run folder)
        log.info("cohort %s: %s -> %s rows", spec.cohort.name, rule, shown or n)
    if cohort.flow.n_final == 0:
        raise StudyError(
            f"cohort {spec.cohort.name!r} selects 0 of {len(dataset.frame):,} rows; check the "
            "cohort rules against this release (see cohort_flow in the log)."
        )
    if cohort.flow.n_final < k:
        raise StudyError(
            f"cohort {spec.cohort.name!r} selects fewer than privacy.k = {k} cases; every "
            "figure about so few people would describe them. Widen the cohort's rules."
        )
    headline = build_headline(
        cohort.frame, cohort=spec.cohort.name, k=k, flag_semantics=dataset.flag_semantics
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    header, rows = headline_rows(headline)
    files = (
        write_json(out_dir, "data_report.json", dataset.report.published(k), k=k),
        write_csv(
            out_dir,
            "cohort_flow.csv",
            ["step", "rule", "n_rows"],
            [[i, rule, flow_markers[i] or n] for i, (rule, n) in enumerate(cohort.flow.steps)],
            k=k,
        ),
        write_text(
            out_dir, "headline.md", headline_markdown(headline, source=dataset.report.source.name)
        ),
        write_csv(out_dir, "headline.csv", header, rows, k=k),
        write_json(out_dir, "headline.json", headline_json(headline), k=k),
    )
    return DescribeResult(out_dir, dataset.report, headline, files)
