"""Shared fixtures: the real-data path and a writer of small hand-made old-release files."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pytest

from ctdc_risk.data.releases import GLOBAL_2017_2021

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_CTDC_DIR = REPO_ROOT / ".." / "shared" / "data" / "ctdc"
REAL_SYNTHETIC_2021 = REAL_CTDC_DIR / "ctdc_synthetic_20210825_reconstructed.csv"

# Defaults for the old (63-column) release: text columns hold a plausible value or "-99",
# every flag is "-99" (missing) unless a row says otherwise.
OLD_RELEASE_DEFAULTS: dict[str, str] = {
    "yearOfRegistration": "2015",
    "Datasource": "Case Management",
    "gender": "Female",
    "ageBroad": "-99",
    "majorityStatus": "-99",
    "majorityStatusAtExploit": "-99",
    "citizenship": "UA",
    "CountryOfExploitation": "RU",
    "RecruiterRelationship": "-99",
}

OldReleaseWriter = Callable[..., Path]


def pytest_configure(config: pytest.Config) -> None:
    # Rich sizes its output from COLUMNS when stdout is not a terminal, and subprocesses inherit
    # it: pin it, so no test depends on the terminal the suite runs in. The console never wraps
    # a line anyway (tests/test_console.py checks 40 and 300 columns).
    os.environ["COLUMNS"] = "80"


@pytest.fixture(scope="session")
def real_synthetic_2021_path() -> Path:
    """CTDC's real synthetic 2021 file, or skip: it may not be redistributed with the project."""
    if not REAL_SYNTHETIC_2021.is_file():
        pytest.skip(
            f"real CTDC data not present at {REAL_SYNTHETIC_2021.resolve()} "
            "(never committed; place ../shared/data/ctdc next to the project to run this test)"
        )
    return REAL_SYNTHETIC_2021


@pytest.fixture
def write_old_release(tmp_path: Path) -> OldReleaseWriter:
    """Return ``write(rows, name=..., header=..., drop=..., line_end=...) -> Path``.

    Builds a 63-column global_2017_2021 CSV from a few dict rows (release column -> raw text);
    unspecified cells take :data:`OLD_RELEASE_DEFAULTS`, else ``"-99"``. ``header`` maps a
    release column to the name written in the header, ``drop`` leaves columns out and ``extra``
    adds columns (name -> value for every row).
    """

    def write(
        rows: Iterable[Mapping[str, str]],
        *,
        name: str = "old_release.csv",
        header: Mapping[str, str] | None = None,
        drop: Iterable[str] = (),
        extra: Mapping[str, str] | None = None,
    ) -> Path:
        dropped = set(drop)
        columns = [c for c in GLOBAL_2017_2021.columns if c not in dropped]
        extra = dict(extra or {})
        names = [(header or {}).get(c, c) for c in columns] + list(extra)
        path = tmp_path / name
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(names)
            for row in rows:
                cells = [row.get(c, OLD_RELEASE_DEFAULTS.get(c, "-99")) for c in columns]
                writer.writerow(cells + list(extra.values()))
        return path

    return write
