"""``ctdc-risk [COMMAND] [overrides]``: the Hydra entry point.

The first word, when it is a command name, is turned into the override ``command=NAME`` so the
rest of the line is plain Hydra (overrides, ``-m`` sweeps, ``hydra.run.dir=...``). Heavy
libraries are imported only after Hydra has parsed the line, so ``--help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from ctdc_risk.cli.help import COMMANDS, help_text
from ctdc_risk.errors import CtdcRiskError


def _split_command(argv: list[str]) -> list[str]:
    if argv and argv[0] in COMMANDS:
        rest = argv[1:]
        if argv[0] == "describe" and not any(a.startswith("cohort=") for a in rest):
            # The headline compares children with adults: describe every case by default.
            rest = [*rest, "cohort=all"]
        return [*rest, f"command={argv[0]}"]
    if argv and not argv[0].startswith("-") and "=" not in argv[0]:
        known = ", ".join(COMMANDS)
        print(
            f"ctdc-risk: unknown command {argv[0]!r}; commands are: {known}. "
            "Overrides look like KEY=VALUE; see ctdc-risk --help.",
            file=sys.stderr,
        )
        raise SystemExit(2)
    return argv


@hydra.main(version_base="1.3", config_path="pkg://ctdc_risk.conf", config_name="config")
def _entry(cfg: DictConfig) -> Any:
    from hydra.core.hydra_config import HydraConfig

    out_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        return _run(cfg, out_dir)
    except CtdcRiskError as exc:
        # A mistake of the user's: the message says what to fix; a traceback would not help.
        print(f"ctdc-risk: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _run(cfg: DictConfig, out_dir: Path) -> Any:
    from ctdc_risk.cli import console
    from ctdc_risk.pipeline.specs import run_spec_from_mapping

    try:
        plain = OmegaConf.to_container(cfg, resolve=True)
    except Exception as exc:  # omegaconf's interpolation errors
        from ctdc_risk.errors import ConfigError

        key = getattr(exc, "full_key", "") or "?"
        raise ConfigError(
            f"config key {key!r} cannot be resolved: {str(exc).splitlines()[0]}"
        ) from None
    assert isinstance(plain, dict)
    config = {str(key): value for key, value in plain.items()}
    # Tracking is an edge concern: the study itself never sees it.
    tracking_cfg = config.pop("tracking", None) or {"enabled": False}
    spec = run_spec_from_mapping(config)
    if spec.command == "describe":
        from ctdc_risk.pipeline.describe import run_describe

        described = run_describe(spec, out_dir)
        console.print_describe_summary(described)
        return described.headline.family["children"].share
    from ctdc_risk.pipeline.study import run_study
    from ctdc_risk.tracking import TrackingSpec

    tracking = TrackingSpec.from_mapping(tracking_cfg)
    if not tracking.enabled:
        with console.progress() as say:
            result = run_study(spec, out_dir, progress=say)
        console.print_study_summary(result)
        return result.metrics["cv/roc_auc_mean"]
    from ctdc_risk.tracking import log_study, track_study

    cwd = Path.cwd()
    with track_study(tracking, config=config, run_name=out_dir.name, cwd=cwd) as run:
        with console.progress() as say:
            result = run_study(spec, out_dir, progress=say)
        say("logging the run to MLflow")
        log_study(run, result, experiment_name=tracking.experiment, cwd=cwd)
    console.print_study_summary(result, tracking=(run.run_id, run.tracking_uri))
    # The value a sweeper optimises: the primary model's cross-validated ROC AUC.
    return result.metrics["cv/roc_auc_mean"]


def main() -> None:
    """Console-script entry point."""
    if any(a in ("-h", "--help") for a in sys.argv[1:]):
        # Our own help: Hydra's lists config groups by composing each one (about a second).
        print(help_text())
        return
    sys.argv = [sys.argv[0], *_split_command(sys.argv[1:])]
    _entry()


if __name__ == "__main__":  # pragma: no cover
    main()
