"""The data a study read, as an MLflow dataset input (the runs list's Dataset column).

Metadata only, never a row: the file's name, its sha256 (the first characters as MLflow's
digest, the whole in the profile), where it came from (its path, or the built-in generator)
and the release and row counts (a count under k is shown as ``<k``, as in the data report).
"""

from __future__ import annotations

import json
import warnings
from typing import TYPE_CHECKING, Any

from ctdc_risk.privacy import Floor
from ctdc_risk.tracking.naming import release_words

if TYPE_CHECKING:
    from ctdc_risk.data.data_report import DataReport

# MLflow keeps at most 36 characters of a digest; the UI shows about 8.
DIGEST_CHARS = 12
CONTEXT = "study"
GENERATOR = "ctdc_risk.data.synthetic"


def dataset_profile(report: DataReport, k: int) -> dict[str, Any]:
    """What the dataset's profile says: release, rows, the whole sha256."""
    return {
        "release": report.release_id,
        "release_label": report.release_label,
        "rows_read": Floor(k).count(report.rows_read),
        "rows": Floor(k).count(report.rows_out),
        "sha256": report.source.sha256,
        "format": report.source.file_format,
        "flags": report.flag_semantics,
    }


def dataset_input(report: DataReport, k: int, *, context: str = CONTEXT) -> Any:
    """An ``mlflow.entities.DatasetInput`` for ``client.log_inputs`` (what ``mlflow.log_input``
    logs for the active run; here for a run named by id)."""
    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.data.dataset_source import DatasetSource
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    profile = json.dumps(dataset_profile(report, k), sort_keys=True)

    class _Dataset(MetaDataset):
        """MLflow's metadata-only dataset, with a profile."""

        @property
        def profile(self) -> str:
            return profile

        def to_dict(self) -> dict[str, str]:
            return {**super().to_dict(), "profile": profile}

    source: DatasetSource
    if report.generated:
        source = CodeDatasetSource(
            tags={"generated": GENERATOR, "note": "generated demonstration data, not CTDC"}
        )
    else:
        with warnings.catch_warnings():  # MLflow registers its local source twice and says so
            warnings.simplefilter("ignore", UserWarning)
            source = resolve_dataset_source(report.source.path)  # a local file: type "local"
    dataset = _Dataset(source, name=report.source.name, digest=report.source.sha256[:DIGEST_CHARS])
    tags = [
        InputTag(MLFLOW_DATASET_CONTEXT, context),
        InputTag("release", release_words(report)),
    ]
    return DatasetInput(dataset=dataset._to_mlflow_entity(), tags=tags)
