"""The ``replicate`` command: one study on several CTDC files, its factor levels side by side.

``run_replication(spec, files, out_dir)`` runs the configured study on each file (any layout the
data layer reads) into ``release_1/``, ``release_2/``, ... of ``out_dir``, pins every factor's
reference level to the first release's so that each contrast compares the same two groups
everywhere, and writes the aligned, pooled and judged table (:mod:`ctdc_risk.replication`) as
``replication.csv``, ``replication.json``, ``replication.md``, ``replication.html`` and one
forest plot per labelled factor in ``figures/``. Plain Python, usable from a notebook.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ctdc_risk.errors import ConfigError, DataFileError, StudyError
from ctdc_risk.outputs import RunFolder
from ctdc_risk.pipeline.specs import RunSpec
from ctdc_risk.pipeline.study import StudyResult, run_study
from ctdc_risk.privacy import Floor
from ctdc_risk.replication import (
    CANNOT_TEST,
    DIRECTION_DIFFERS,
    REPLICATES,
    SAME_DIRECTION,
    ReleaseSummary,
    ReplicationTable,
    build_replication_table,
)
from ctdc_risk.report.replication import render_replication

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
_REFERENCE_ERROR = re.compile(r"^explain\.reference\.(\w+): ")

METHOD_TEXT = (
    "Per release: the study's adjusted odds ratio of each factor level against its factor's "
    "reference level (Firth logistic regression, 95 % Wald interval on the log scale with the "
    "larger of model-based and record-clustered standard errors). References are pinned to the "
    "first release's. Log odds ratios pooled by DerSimonian-Laird random effects (fixed effect "
    "with one estimable release); Cochran's Q with df = releases - 1, I2 = max(0, (Q - df) / "
    "Q). Verdict: replicates = same side of 1 and interval excluding 1 in every release where "
    "estimable (at least two); same direction, not significant everywhere; direction differs = "
    "point estimates on both sides of 1; cannot be tested = estimable in fewer than two "
    "releases, or a level describing recording (unknown, pooled) rather than the case."
)


@dataclass(frozen=True)
class ReplicationResult:
    """What ``replicate`` produced and where."""

    out_dir: Path
    spec: RunSpec
    studies: tuple[StudyResult, ...]
    releases: tuple[ReleaseSummary, ...]
    table: ReplicationTable
    metrics: dict[str, float]
    files: tuple[Path, ...]
    seconds: dict[str, float]


def run_replication(
    spec: RunSpec,
    files: Sequence[str | Path],
    out_dir: Path,
    *,
    names: Sequence[str] = (),
    progress: Progress | None = None,
) -> ReplicationResult:
    """Run the study ``spec`` on every file and write the replication table into ``out_dir``.

    Parameters
    ----------
    spec
        The study (cohort, target, features, models, ...); its ``data`` settings other than the
        path (encoding, delimiter, sheet, size limit) apply to every file.
    files
        Two or more CTDC files, each in any layout the data layer reads.
    out_dir
        The run folder; each file's own study goes to ``release_<i>/`` inside it.
    names
        One name per file for tables and charts; default: the file's name and detected release.
    progress
        Called with a short message before each step.

    Raises
    ------
    ctdc_risk.errors.CtdcRiskError
        A missing file, too few files, names that do not fit, or a study that cannot run on a
        file (the message names the file).
    """
    say = progress or (lambda msg: log.info("%s", msg))
    paths = [Path(f) for f in files]
    if len(paths) < 2:
        raise ConfigError(
            f"replicate.data lists {len(paths)} file(s); replication needs two or more, e.g. "
            "replicate.data=[FILE_A,FILE_B]."
        )
    for path in paths:
        if not path.is_file():
            raise DataFileError(f"replicate.data: {path} is not a file (check the path).")
    if names and len(names) != len(paths):
        raise ConfigError(
            f"replicate.names has {len(names)} names for {len(paths)} files; give one per file "
            "or none."
        )
    seconds: dict[str, float] = {}
    pins = dict(spec.explain.reference)
    studies: list[StudyResult] = []
    moved: dict[int, dict[str, str]] = {}
    for i, path in enumerate(paths):
        shown = names[i] if names else path.name
        t = time.perf_counter()

        def step(message: str, i: int = i, shown: str = shown) -> None:
            say(f"release {i + 1} of {len(paths)} ({shown}): {message}")

        result, moved[i] = _run_one(spec, path, out_dir / f"release_{i + 1}", pins, step)
        seconds[f"release_{i + 1}"] = round(time.perf_counter() - t, 3)
        for row in result.table.rows:
            if row.label == "reference":
                pins.setdefault(row.factor, row.level)
        studies.append(result)
    say("aligning, pooling and judging the factor levels")
    t = time.perf_counter()
    labels = list(names) if names else _default_names(studies)
    floor = spec.privacy.floor
    table = build_replication_table(
        [s.table for s in studies], labels, k=floor.k, other_reference=moved
    )
    releases = tuple(
        _summary(name, s, f"release_{i + 1}", moved[i], floor)
        for i, (name, s) in enumerate(zip(labels, studies, strict=True))
    )
    metrics = _metrics(table, studies)
    files_written = _write(RunFolder(out_dir, floor), spec, table, releases, metrics)
    seconds["replication"] = round(time.perf_counter() - t, 3)
    log.info("replication finished: %s", ", ".join(f"{n} {s:.1f}s" for n, s in seconds.items()))
    return ReplicationResult(
        out_dir, spec, tuple(studies), releases, table, metrics, files_written, seconds
    )


def _run_one(
    spec: RunSpec, path: Path, folder: Path, pins: dict[str, str], step: Progress
) -> tuple[StudyResult, dict[str, str]]:
    """One file's study with the pinned references; a pinned reference the file lacks is let
    go for that factor (and returned with the reason), unless the user set it."""
    data = replace(spec.data, source="file", path=str(path))
    chosen = set(spec.explain.reference)
    let_go: dict[str, str] = {}
    while True:
        use = {f: level for f, level in pins.items() if f not in let_go}
        release_spec = replace(spec, data=data, explain=replace(spec.explain, reference=use))
        try:
            return run_study(release_spec, folder, progress=step), let_go
        except StudyError as exc:
            match = _REFERENCE_ERROR.match(str(exc))
            factor = match.group(1) if match else None
            if factor is None or factor in chosen or factor in let_go or factor not in use:
                raise StudyError(f"{path.name}: {exc}") from None
            log.info("%s: reference %r of %s is missing; using its own", path, use[factor], factor)
            let_go[factor] = (
                f"has no cases at the first release's reference level {use[factor]!r}: its "
                "levels were compared with this release's own reference and are not pooled"
            )


def _default_names(studies: Sequence[StudyResult]) -> list[str]:
    names = [f"{s.data_report.source.name} ({s.data_report.release_id})" for s in studies]
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if names.count(name) == 1 else f"{name} #{seen[name]}")
    return out


def _summary(
    name: str, study: StudyResult, folder: str, moved: dict[str, str], floor: Floor
) -> ReleaseSummary:
    n, yes = len(study.target.y), study.target.n_positive
    report = study.data_report
    return ReleaseSummary(
        name=name,
        file=report.source.name,
        release_id=report.release_id,
        release_label=report.release_label,
        flag_semantics=report.flag_semantics,
        folder=folder,
        n_cases=n if n >= floor.k else None,
        n_outcome=yes if floor.share(yes, n).show_share else None,
        other_reference=dict(moved),
    )


def _metrics(table: ReplicationTable, studies: Sequence[StudyResult]) -> dict[str, float]:
    counts = table.counts()
    m: dict[str, float] = {
        "replication/releases": float(len(studies)),
        "replication/levels_compared": float(sum(counts.values())),
        "replication/levels_replicate": float(counts[REPLICATES]),
        "replication/levels_same_direction": float(counts[SAME_DIRECTION]),
        "replication/levels_direction_differs": float(counts[DIRECTION_DIFFERS]),
        "replication/levels_cannot_test": float(counts[CANNOT_TEST]),
    }
    for i, study in enumerate(studies, 1):
        for key in ("target/n_rows", "target/prevalence", "cv/roc_auc_mean"):
            if key in study.metrics:
                m[f"release_{i}/{key}"] = float(study.metrics[key])
    return m


def _study_words(spec: RunSpec) -> dict[str, str]:
    return {
        "title": f"Does it hold across releases? {spec.target.outcome_words}: {spec.cohort.name}",
        "description": spec.target.description,
        "cohort": spec.cohort.name,
        "features": spec.features.name,
        "models": ", ".join(m.name for m in spec.models),
    }


def _write(
    folder: RunFolder,
    spec: RunSpec,
    table: ReplicationTable,
    releases: Sequence[ReleaseSummary],
    metrics: dict[str, float],
) -> tuple[Path, ...]:
    study = _study_words(spec)
    report = render_replication(table, releases, study)
    records = table.to_records()
    columns = table.columns()
    document = {
        "study": {**study, "seed": spec.seed, "privacy_k": folder.floor.k},
        "releases": [r.to_record() for r in releases],
        "reference_levels": dict(table.reference),
        "verdicts": table.counts(),
        "method": METHOD_TEXT,
        "metrics": metrics,
        "rows": records,
    }
    figures = tuple(
        folder.write_bytes(f"figures/{name}", data) for name, data in report.figures.items()
    )
    return (
        folder.write_records("replication.csv", columns, records),
        folder.write_json("replication.json", document),
        folder.write_text("replication.md", report.markdown),
        folder.write_text("replication.html", report.html),
        *figures,
    )
