"""``ctdc-risk --help``: commands, config groups and examples, without composing any config."""

from __future__ import annotations

import textwrap
from importlib.resources import files

COMMANDS: dict[str, str] = {
    "study": "(default) the factor study: cohort, outcome, cross-validated models, crude and "
    "adjusted associations, SHAP, bootstrap stability and the factor table",
    "compare": "set finished runs side by side (metrics, factor labels and ranks), marking "
    "factors whose label differs: compare.experiment=NAME, compare.parent=SWEEP_RUN_ID or "
    "compare.runs=[ID,ID]",
    "replicate": "run the study on several CTDC files (releases, vintages, layouts) and set "
    "each factor level's odds ratio side by side, pooled, with heterogeneity and a verdict: "
    "replicate.data=[FILE_A,FILE_B,...]",
    "describe": "headline tables: family involvement in recruitment, children vs adults and "
    "boys vs girls, with 95 % intervals (cohort=all unless you choose one)",
    "audit": "check that no withheld count of a finished run can be recovered from what its "
    "folder publishes: ctdc-risk audit RUN_DIR (exit 0 clean, 1 with findings)",
}

_EXAMPLES = """\
  ctdc-risk                                           the default study on synthetic data
  ctdc-risk data=ctdc data.path=FILE                  the default study on a CTDC release
  ctdc-risk cohort=boys target=sexual_exploitation    another cohort and outcome
  ctdc-risk model=lightgbm stability=fast             one model, fewer bootstrap refits
  ctdc-risk describe                                  headline tables, synthetic data
  ctdc-risk describe data=ctdc data.path=FILE         a CTDC release (CSV, XLSX, Parquet)
  ctdc-risk describe cohort=children privacy.k=11     another cohort and privacy floor
  ctdc-risk describe hydra.run.dir=DIR                choose the run folder
  ctdc-risk describe --cfg job                        show the composed config, run nothing
  ctdc-risk -m experiment=model_comparison            a sweep: an MLflow parent run, a child per job
  ctdc-risk -m experiment=lightgbm_tuning             Optuna tuning (hydra/sweeper=optuna_lightgbm)
  ctdc-risk -m cohort=boys,girls hydra/launcher=joblib    jobs in parallel (or hydra/launcher=slurm)
  ctdc-risk compare compare.experiment=model_comparison   runs side by side (or .parent, .runs)
  ctdc-risk audit outputs/DATE/TIME                   can a withheld count be recovered?
  ctdc-risk replicate replicate.data=[A.csv,B.xlsx]   does each factor hold in every release?"""


def _groups() -> dict[str, list[str]]:
    root = files("ctdc_risk.conf")
    groups: dict[str, list[str]] = {}
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.is_dir() and not entry.name.startswith(("_", ".")):
            options = sorted(
                f.name.removesuffix(".yaml") for f in entry.iterdir() if f.name.endswith(".yaml")
            )
            if options:
                groups[entry.name] = options
    return groups


def help_text() -> str:
    """The help page."""
    width = max(len(c) for c in COMMANDS) + 3
    commands = "\n".join(
        textwrap.fill(
            text, width=96, initial_indent=f"  {name:<{width}}", subsequent_indent=" " * (width + 2)
        )
        for name, text in COMMANDS.items()
    )
    groups = "\n".join(f"  {g}: {', '.join(opts)}" for g, opts in _groups().items())
    return f"""\
ctdc-risk: risk and protective factors for child trafficking in CTDC victim-case data.

Usage: ctdc-risk [COMMAND] [GROUP=OPTION | KEY=VALUE ...] [-m for a sweep]

Commands:
{commands}

Config groups (choose with GROUP=OPTION):
{groups}

Examples:
{_EXAMPLES}

Every run writes a new folder under outputs/ (printed at the end) with its results, a data
report and the resolved config (.hydra/config.yaml). Hydra's own options: --hydra-help."""
