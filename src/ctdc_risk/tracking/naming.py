"""Names and descriptions that say what a run is, for the MLflow UI's runs list.

A study is named by its cohort, outcome and data ("children · family recruitment · synthetic
2021"); a sweep's child by the keys the sweep varies ("model logistic · target forced labour"),
never by every override or a whole path. Descriptions (the UI's "Description" of an experiment
or a run) are the experiment file's question and the study's own summary sentences.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ctdc_risk.data.data_report import DataReport
    from ctdc_risk.pipeline.specs import RunSpec

SEPARATOR = " · "
MAX_NAME_CHARS = 250
# The releases as a reader names them (ctdc_risk.data.releases holds their full labels).
RELEASE_WORDS = {
    "global_2017_2021": "CTDC 2017-2021",
    "synthetic_2021": "synthetic 2021",
    "synthetic_2024": "synthetic 2024-2026",
    "ctdc_risk_canonical": "canonical frame",
}
GENERATED = "generated data"


def words(name: object) -> str:
    """A config name or value in words: ``family_recruitment`` -> ``family recruitment``,
    ``children_0_8`` -> ``children 0-8``, ``9--17`` -> ``9-17``; a path -> its file name.

    Examples
    --------
    >>> words("children_9_17"), words("/data/ctdc/file_2021.csv")
    ('children 9-17', 'file_2021.csv')
    """
    text = str(name)
    if "/" in text or "\\" in text:
        return Path(text.replace("\\", "/")).name  # never a whole path
    text = re.sub(r"(\d)_+(\d)", r"\1-\2", text.replace("--", "-"))
    return text.replace("_", " ").strip()


def release_words(report: DataReport) -> str:
    """The data a study read, in a few words: the release, or "generated data"."""
    if report.generated:
        return GENERATED
    return RELEASE_WORDS.get(report.release_id, words(report.release_id))


def _data_words(data: Mapping[str, Any]) -> str:
    """The data a config names, before it is read (the release is not known yet)."""
    if data.get("source", "synthetic") == "synthetic":
        return GENERATED
    return words(data.get("path") or "file")


def _join(parts: Sequence[str]) -> str:
    return SEPARATOR.join(p for p in parts if p)[:MAX_NAME_CHARS]


def study_run_name(spec: RunSpec, report: DataReport | None = None) -> str:
    """``children · family recruitment · synthetic 2021`` (the data's file name until the
    release is known)."""
    data = (
        release_words(report)
        if report is not None
        else _data_words({"source": spec.data.source, "path": spec.data.path})
    )
    target = words(spec.target.name)
    return _join([words(spec.cohort.name), target, data])


def replication_run_name(spec: RunSpec, reports: Sequence[DataReport]) -> str:
    """``children · family recruitment · replicated on CTDC 2017-2021, synthetic 2021``."""
    releases = ", ".join(dict.fromkeys(release_words(r) for r in reports))
    target = words(spec.target.name)
    return _join([words(spec.cohort.name), target, f"replicated on {releases}"])


def _key(override: str) -> tuple[str, str]:
    key, _, value = override.partition("=")
    return key.lstrip("+~"), value


def _labels(keys: Sequence[str]) -> dict[str, str]:
    """Each key's last dotted part in words, or the whole key where two would look alike."""
    last = {k: words(k.rsplit(".", 1)[-1]) for k in keys}
    clash = {v for v in last.values() if list(last.values()).count(v) > 1}
    return {k: words(k) if v in clash else v for k, v in last.items()}


def child_run_name(overrides: Sequence[str], swept: Sequence[str], num: int) -> str:
    """A sweep job named by the values of the swept keys only: ``model logistic · seed 3``.

    Examples
    --------
    >>> child_run_name(["debug=default", "data.path=/d/a_2021.csv", "model=logistic"],
    ...                ["model", "data.path"], 0)
    'path a_2021.csv · model logistic'
    """
    labels = _labels(list(swept))
    parts = [
        f"{labels[key]} {words(value)}"
        for key, value in (_key(o) for o in overrides)
        if key in labels
    ]
    return _join(parts) or f"job {num}"


def sweep_run_name(config: Mapping[str, Any], swept: Sequence[str]) -> str:
    """A sweep's parent: what varies, then what every job shares:
    ``sweep over model, target · children · generated data``."""

    def fixed(group: str, value: str) -> str:
        return "" if any(k == group or k.startswith(f"{group}.") for k in swept) else value

    cohort = config.get("cohort") or {}
    target = config.get("target") or {}
    data = config.get("data") or {}
    labels = _labels(list(swept))
    over = f"sweep over {', '.join(labels.values())}" if swept else "sweep"
    return _join(
        [
            over,
            fixed("cohort", words(cohort.get("name", ""))),
            fixed("target", words(target.get("name", ""))),
            fixed("data", _data_words(data)),
        ]
    )


def summary_note(report_md: Path) -> str:
    """A run's description: the report's title and its summary sentences (Markdown).

    The sentences are the report's own (already privacy-checked); empty when the report has no
    summary section.
    """
    try:
        lines = report_md.read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    title = next((ln[2:].strip() for ln in lines if ln.startswith("# ")), "")
    summary: list[str] = []
    inside = False
    for line in lines:
        if line.startswith("## "):
            if inside:
                break
            inside = line.strip() == "## Summary"
        elif inside and line.startswith("- "):
            summary.append(line)
    if not summary:
        return ""
    return "\n".join([f"**{title}**", "", *summary]) if title else "\n".join(summary)


def experiment_description(name: str) -> str:
    """An experiment's description: the question its experiment file answers (its header
    comment) when the package has one of that name; else what the experiment holds."""
    from importlib.resources import files

    default = (
        f"Studies run with ctdc-risk (experiment {name}). Each run is one study, named by its "
        "cohort, outcome and data; its description is the study's summary, and its artifacts "
        "hold the whole report."
    )
    if not re.fullmatch(r"[\w-]+", name):
        return default
    try:
        text = (files("ctdc_risk.conf") / "experiment" / f"{name}.yaml").read_text("utf-8")
    except (OSError, ModuleNotFoundError):
        return default
    prose: list[str] = []
    commands: list[str] = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        body = line[1:].strip()
        if body.startswith("@package"):
            continue
        (commands if body.startswith("ctdc-risk") else prose).append(body)
    if not prose:
        return default
    note = " ".join(prose)
    if commands:
        note += "\n\n" + "\n".join(f"    {c}" for c in commands)
    return note
