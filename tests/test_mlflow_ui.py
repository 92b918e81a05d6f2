"""The MLflow UI as a researcher comparing studies sees it, after one small tracked sweep.

One sweep (2 jobs, the smallest settings that still label factors) and one real ``mlflow ui``
server are shared by every test here: the REST API lists the runs with their names, dataset and
factor metrics, and headless Chromium (Debian's ``chromium`` through Playwright, as in
tests/test_report_browser.py; skipped with the reason when either is missing) opens the runs
list and a run's page. Screenshots go to the test's tmp folder and, when ``CTDC_TEST_ARTIFACTS``
names a folder, are copied there for CI to keep: ``mlflow_runs.png`` (the runs list, the sweep
expanded) and ``mlflow_run_factors.png`` (a run's metrics filtered to its factors).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import keep_screenshots

EXE = str(Path(sys.executable).with_name("ctdc-risk"))
MLFLOW = str(Path(sys.executable).with_name("mlflow"))
# The smallest study that still labels factors (2 risk levels on 10,000 generated rows);
# the sweep varies only how q-values are adjusted, so both jobs label.
SWEEP = [
    "-m", "debug=default", "data.n_rows=10000", "model=logistic", "stability.n_boot=4",
    "stability.n_jobs=1", "cv.n_splits=3", "targeting=off", "explain.modifiers=[]",
    "explain.multiplicity=holm,bh", "hydra.sweep.dir=sweep",
]  # fmt: skip
CHILD_NAMES = {"multiplicity holm", "multiplicity bh"}
PARENT_NAME = "sweep over multiplicity · children · family recruitment · generated data"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
HOW_TO_GET_CHROMIUM = "run `make browser` (or `make test`, which runs it)"
SERVER_TIMEOUT_S = 180
# A loaded 2-core machine: the UI's first page may take a while to fill its table.
WAIT_MS = 90_000


@dataclass(frozen=True)
class Served:
    """The sweep's store and the UI serving it."""

    cwd: Path
    base: str
    experiment_id: str
    runs: list[dict[str, Any]]

    def by_name(self, name: str) -> dict[str, Any]:
        return next(r for r in self.runs if r["info"]["run_name"] == name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _call(base: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{base}/api/2.0/mlflow/{path}", data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as reply:
        result: dict[str, Any] = json.loads(reply.read())
        return result


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One small tracked sweep through the real CLI, and `mlflow ui` on its store."""
    cwd = tmp_path_factory.mktemp("mlflow_ui")
    out = subprocess.run(
        [EXE, *SWEEP], cwd=cwd, capture_output=True, text=True, timeout=900,
        env={**os.environ, "HYDRA_FULL_ERROR": "0"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    port = _free_port()
    server = subprocess.Popen(
        [MLFLOW, "ui", "--backend-store-uri", f"sqlite:///{(cwd / 'mlflow.db').resolve()}",
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},  # as team-server.sh
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail(f"mlflow ui did not answer within {SERVER_TIMEOUT_S} s")
                time.sleep(0.5)
        experiment = _call(base, "experiments/get-by-name?experiment_name=ctdc-risk")
        experiment_id = experiment["experiment"]["experiment_id"]
        runs = _call(base, "runs/search", {"experiment_ids": [experiment_id]})["runs"]
        yield Served(cwd, base, experiment_id, runs)
    finally:
        # Its own process group: the server's uvicorn worker ends with it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)


def _metrics(run: dict[str, Any]) -> dict[str, float]:
    return {m["key"]: m["value"] for m in run["data"].get("metrics", [])}


def _tags(run: dict[str, Any]) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["data"].get("tags", [])}


def test_the_ui_serves_runs_named_by_what_they_are_with_dataset_and_factors(
    served: Served,
) -> None:
    names = {r["info"]["run_name"] for r in served.runs}
    assert names == {PARENT_NAME, *CHILD_NAMES}
    assert {r["info"]["status"] for r in served.runs} == {"FINISHED"}
    parent = served.by_name(PARENT_NAME)
    assert _tags(parent)["mlflow.note.content"].startswith("# Sweep summary: 2 jobs, 2 finished")
    for name in CHILD_NAMES:
        run = served.by_name(name)
        tags = _tags(run)
        assert tags["mlflow.parentRunId"] == parent["info"]["run_id"]
        assert tags["mlflow.note.content"].startswith("**What goes with being recruited")
        (entry,) = run["inputs"]["dataset_inputs"]
        assert entry["dataset"]["digest"] == tags["data_sha256"][:12]
        assert entry["dataset"]["name"] == "synthetic CTDC-like data (n_rows=10000, seed=42)"
        metrics = _metrics(run)
        factors = {k for k in metrics if k.startswith("factor/")}
        assert factors, f"{name}: no labelled factor level became a metric"
        assert all(
            re.fullmatch(r"factor/\w+/[\w .-]+/(or|or_low|or_high|shap)", k) for k in factors
        )
        for key in (k for k in factors if k.endswith("/or")):
            low, high = metrics[f"{key}_low"], metrics[f"{key}_high"]
            assert low <= metrics[key] <= high and not low <= 1 <= high, key  # labelled
        files = _call(served.base, f"artifacts/list?run_id={run['info']['run_id']}")["files"]
        assert {"report.html", "factors.csv"} <= {f["path"] for f in files}
    # The labels of both jobs name the same planted risk factor: one key, charted across runs.
    shared = set.intersection(*(set(_metrics(served.by_name(n))) for n in CHILD_NAMES))
    assert "factor/age_band/0-8/or" in shared


@pytest.mark.slow
def test_the_browser_shows_named_runs_with_their_dataset_and_factor_metrics(
    served: Served, tmp_path: Path
) -> None:
    executable = "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None
    executable = executable or shutil.which("chromium")
    if executable is None:
        pytest.skip(f"no chromium executable found; {HOW_TO_GET_CHROMIUM}")
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason=f"playwright is not importable; install the dev extras and {HOW_TO_GET_CHROMIUM}",
    )
    expect = sync_api.expect
    runs_shot = tmp_path / "mlflow_runs.png"
    factors_shot = tmp_path / "mlflow_run_factors.png"
    child = served.by_name("multiplicity holm")
    run_id = child["info"]["run_id"]
    with (
        tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile,
        sync_api.sync_playwright() as pw,
    ):
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=executable, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1600, "height": 1000},
        )  # fmt: skip
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(WAIT_MS)
            # The experiment's link as tracking.runs_page gives it: model training, so the UI
            # opens on the runs table, not on the GenAI overview (traces).
            page.goto(f"{served.base}/{runs_page(served.experiment_id)}")
            page.wait_for_url(re.compile(r"/runs\b"))
            parent_row = page.get_by_text(PARENT_NAME[:20])
            expect(parent_row.first).to_be_visible(timeout=WAIT_MS)
            # The sweep's jobs are nested under it: open the parent's row.
            page.locator('button[data-component-id*="runnamecellrenderer"]').first.click()
            for name in CHILD_NAMES:
                expect(page.get_by_text(name, exact=True).first).to_be_visible(timeout=WAIT_MS)
            # The Dataset column: the data's name and digest (the first characters of its sha256).
            digest = _tags(child)["data_sha256"][:12]
            expect(
                page.get_by_text(re.compile(rf"synthetic CTDC-like data.*{digest}")).first
            ).to_be_visible(timeout=WAIT_MS)
            expect(page.get_by_text("Run Name", exact=True)).to_be_visible(
                timeout=WAIT_MS
            )  # the runs table
            assert "/overview" not in page.url and "workflowType=genai" not in page.url
            page.screenshot(path=str(runs_shot))

            page.goto(
                f"{served.base}/#/experiments/{served.experiment_id}/runs/{run_id}"
                "?workflowType=machine_learning"
            )
            expect(page.get_by_text("multiplicity holm").first).to_be_visible(timeout=WAIT_MS)
            page.get_by_placeholder("Search metrics").fill("factor/")
            factor = page.get_by_text("factor/age_band/0-8/or", exact=True).first
            expect(factor).to_be_visible(timeout=WAIT_MS)
            factor.scroll_into_view_if_needed()  # the page scrolls inside its own panel
            page.screenshot(path=str(factors_shot))
        finally:
            keep_screenshots([runs_shot, factors_shot])
            context.close()
    for shot in (runs_shot, factors_shot):
        assert shot.stat().st_size > 0


def runs_page(experiment_id: str) -> str:
    from ctdc_risk.tracking import runs_page as page

    return page(experiment_id)
