"""``ctdc-risk --help``: commands, config groups and examples, without composing any config."""

from __future__ import annotations

import platform
import textwrap
from importlib.metadata import PackageNotFoundError, version
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


_COMMAND_HELP = {
    "study": """\
Usage: ctdc-risk [study] [GROUP=OPTION | KEY=VALUE ...] [-m for a sweep] [-v]

The factor study (the default command): selects a cohort, defines an outcome among the cases
where it is known, fits cross-validated models and reports which case characteristics go with
the outcome (crude and adjusted associations, SHAP, bootstrap stability), with prevention
targeting profiles. Writes report.html, report.md, factors.csv and more to a new run folder.

Examples:
  ctdc-risk                                         the default study on generated data
  ctdc-risk data=ctdc data.path=FILE                a CTDC release
  ctdc-risk data=ctdc data.path=FILE data.columns='{age:ageBroad,sex:gender}'   your own names
  ctdc-risk cohort=boys model=lightgbm stability=fast
  ctdc-risk -m experiment=boys_vs_girls_family      a named sweep (needs -m)
  ctdc-risk -v ...                                  also show the log lines (always in the
                                                    run folder's ctdc-risk.log)""",
    "describe": """\
Usage: ctdc-risk describe [GROUP=OPTION | KEY=VALUE ...]

Headline tables, no model: family involvement in recruitment among children, adults, boys and
girls whose recruiter is recorded (counts, shares, Wilson 95 % intervals), the child/adult and
boy/girl ratios, and the commonest exploitation types, sectors and means of control. Uses
cohort=all unless you choose one. Writes headline.md, headline.csv and headline.json.

Examples:
  ctdc-risk describe                                generated demonstration data
  ctdc-risk describe data=ctdc data.path=FILE       a CTDC release (CSV, XLSX, Parquet)
  ctdc-risk describe cohort=children privacy.k=11   another cohort and privacy floor""",
    "compare": """\
Usage: ctdc-risk compare compare.experiment=NAME | compare.parent=RUN_ID | compare.runs=[ID,ID]

Sets finished MLflow runs side by side: their cohort, target, model, data release and headline
metrics, then every factor level whose factor ranks in the top compare.top (15) of any run,
with its label and rank in each run, marking levels whose label differs between runs. Writes
comparison.md, comparison.csv and comparison.html.

Examples:
  ctdc-risk compare compare.experiment=model_comparison   an experiment's finished runs
  ctdc-risk compare compare.parent=PARENT_RUN_ID          one sweep's jobs (id printed at its end)
  ctdc-risk compare compare.runs=[RUN_ID,RUN_ID]          chosen runs""",
}

# Shown by --version beside ctdc-risk's own version: what a result depends on (highspy: which
# counts the privacy floor withholds).
KEY_DEPENDENCIES = (
    "hydra-core", "scikit-learn", "lightgbm", "shap", "highspy", "mlflow", "pandas", "numpy",
)  # fmt: skip


def command_help(command: str) -> str:
    """The help page of one command (``ctdc-risk describe --help``)."""
    return _COMMAND_HELP[command] + "\n\nAll commands, config groups and options: ctdc-risk --help"


def version_text() -> str:
    """``ctdc-risk --version``: this package's version and its key dependencies' (no imports)."""

    def of(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    deps = ", ".join(f"{name} {of(name)}" for name in KEY_DEPENDENCIES)
    return f"ctdc-risk {of('ctdc-risk')}\nPython {platform.python_version()}; {deps}"


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

Options: -m (a sweep), -v (show log lines; always in the run folder's ctdc-risk.log),
--version, COMMAND --help (one command's help), --cfg job (show the config, run nothing).

Every run writes a new folder under outputs/ (printed at the end) with its results, a data
report and the resolved config (.hydra/config.yaml). Hydra's own options: --hydra-help."""
