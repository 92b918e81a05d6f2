"""What a run logs under which key: the config as dotted params, headline params and metrics
that sort first, and each labelled factor level's estimates as metrics.

MLflow's compare page sorts keys (JavaScript's default sort: capitals before small letters)
and its plots start from the first ones, so the headline keys are capitalised words: the
default view shows ``Cohort``, ``Model``, ``Target`` and ``ROC AUC``, not ``cohort.rules``
and ``baseline/*``. The lower-case keys (``cv/roc_auc_mean``) stay, for ``ctdc-risk compare``
and scripts.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ctdc_risk.tracking.naming import words

if TYPE_CHECKING:
    from ctdc_risk.factors.factor_rows import FactorRow

MAX_PARAM_CHARS = 500
MAX_KEY_CHARS = 250
LABELS = ("risk", "protective")
# Headline params: copies of config values in words, for the UI only.
HEADLINE_PARAMS = ("Cohort", "Target", "Model", "Data")
# Headline metric -> the study's metric it repeats.
HEADLINE_METRICS = {
    "ROC AUC": "cv/roc_auc_mean",
    "ROC AUC baseline": "baseline/roc_auc_mean",
    "ROC AUC country": "transport/country/roc_auc",
    "ROC AUC later years": "transport/temporal/roc_auc",
    "ROC AUC sd": "cv/roc_auc_std",
}
# What MLflow accepts in a key on every system (colons are refused on Windows).
_PARAM_KEY = re.compile(r"[\w\-. :/]+")
_UNSAFE = re.compile(r"[^\w.\- ]+")


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Dotted params from a nested config; lists become JSON text.

    A mapping whose keys are not valid MLflow names (the leakage globs ``recruiter_*``) becomes
    one JSON value, like a list.
    """
    out: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and not all(_PARAM_KEY.fullmatch(str(k)) for k in value):
            out[name] = json.dumps(dict(value), sort_keys=True)
        elif isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = json.dumps(value) if isinstance(value, list | tuple) else str(value)
    return out


def headline_params(config: Mapping[str, Any]) -> dict[str, str]:
    """``Cohort``, ``Target`` and ``Model`` of a study's config, in words (absent: left out)."""
    out: dict[str, str] = {}
    cohort = config.get("cohort")
    if isinstance(cohort, Mapping) and cohort.get("name"):
        out["Cohort"] = words(cohort["name"])
    target = config.get("target")
    if isinstance(target, Mapping) and target.get("name"):
        out["Target"] = words(target["name"])
    model = config.get("model")
    if isinstance(model, Mapping) and isinstance(model.get("use"), list | tuple):
        out["Model"] = ", ".join(str(m) for m in model["use"])
    return out


def config_params(params: Mapping[str, str]) -> dict[str, str]:
    """A run's params without the headline ones: its flattened config, as ``compare`` reads
    it (a headline ``Model`` beside ``model.use`` would look like a second setting)."""
    return {k: v for k, v in params.items() if k not in HEADLINE_PARAMS}


def run_params(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every param a run logs: the headline ones, then the whole config (sorted)."""
    params = {k: v for k, v in flatten(config).items() if len(v) <= MAX_PARAM_CHARS}
    return [*sorted(headline_params(config).items()), *sorted(params.items())]


def headline_metrics(metrics: Mapping[str, float]) -> dict[str, float]:
    """The scores under keys that sort first (only those the study computed)."""
    return {
        key: float(metrics[source])
        for key, source in HEADLINE_METRICS.items()
        if source in metrics and math.isfinite(float(metrics[source]))
    }


def factor_key(factor: str, level: str) -> str:
    """``factor/<factor>/<level>``: stable (the same level, the same key in every run) and
    valid for MLflow (characters it refuses become ``_``).

    Examples
    --------
    >>> factor_key("age_band", "0--8"), factor_key("gender", "trans_nonconforming")
    ('factor/age_band/0-8', 'factor/gender/trans nonconforming')
    """
    level_words = " ".join(_UNSAFE.sub("_", words(level)).split()).strip(". ") or "level"
    return f"factor/{_UNSAFE.sub('_', factor)}/{level_words}"[: MAX_KEY_CHARS - 7]


def factor_metrics(rows: Iterable[FactorRow]) -> dict[str, float]:
    """Each labelled (risk or protective) level's adjusted odds ratio with its 95% interval and
    its SHAP importance, as ``factor/<factor>/<level>/or``, ``or_low``, ``or_high``, ``shap``.

    Ratios and importances only, never counts; suppressed and unclear levels are left out.
    """
    out: dict[str, float] = {}
    for row in rows:
        if row.label not in LABELS:
            continue
        key = factor_key(row.factor, row.level)
        for suffix, value in (
            ("or", row.adjusted_or),
            ("or_low", row.adjusted_or_low),
            ("or_high", row.adjusted_or_high),
            ("shap", row.shap_importance),
        ):
            if value is not None and math.isfinite(value):
                out[f"{key}/{suffix}"] = float(value)
    return out
