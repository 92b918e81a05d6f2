"""MLflow tracking through the real CLI: one run per study, FAILED on error, off on request;
independent studies creating one new store together."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ctdc_risk.errors import ConfigError
from ctdc_risk.tracking import TrackingSpec, flatten, redact

EXE = str(Path(sys.executable).with_name("ctdc-risk"))


def _cli(*args: str, cwd: Path, columns: int = 80) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *args], cwd=cwd, capture_output=True, text=True, timeout=600,
        env={**os.environ, "HYDRA_FULL_ERROR": "0", "COLUMNS": str(columns)},
    )  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("tracked")
    # A narrow terminal: the command to open the UI must still be printed on one line.
    ok = _cli("debug=default", "hydra.run.dir=ok", cwd=cwd, columns=40)
    failed = _cli("debug=default", "privacy.k=100", "hydra.run.dir=failed", cwd=cwd)
    return cwd, ok, failed


def _client(cwd: Path):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{(cwd / 'mlflow.db').resolve()}")


def test_a_study_is_one_finished_run_with_params_metrics_tags_and_artifacts(store):
    cwd, ok, _ = store
    assert ok.returncode == 0, ok.stderr
    # The whole command on one line, as printed (never hard-wrapped), whatever the paths' length.
    store_uri = f"sqlite:///{(cwd / 'mlflow.db').resolve()}"
    command = f"{Path(EXE).with_name('mlflow')} ui --backend-store-uri {store_uri}"
    assert f"  open the UI with: {command}" in ok.stdout.splitlines(), ok.stdout
    client = _client(cwd)
    experiment = client.get_experiment_by_name("ctdc-risk")
    runs = client.search_runs([experiment.experiment_id], "attributes.status = 'FINISHED'")
    assert len(runs) == 1
    run = runs[0]
    assert run.data.params["cohort.name"] == "children"
    assert run.data.params["target.name"] == "family_recruitment"
    for key in ("cv/roc_auc_mean", "cv/roc_auc_std", "baseline/roc_auc_mean", "cohort/n_rows",
                "targeting/top3_coverage", "targeting/top3_share_of_cases",
                "targeting/top3_lift_country", "targeting/top3_lift_temporal",
                "targeting/top3_lift_lowest", "targeting/top3_lift_shrinkage"):  # fmt: skip
        assert key in run.data.metrics
    for tag in ("cohort", "target", "model", "data_release", "data_sha256", "package_version",
                "git_commit", "experiment"):  # fmt: skip
        assert run.data.tags.get(tag), tag
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"report.html", "factors.csv", "metrics.json", "models", "targeting.csv"} <= names
    models = {a.path for a in client.list_artifacts(run.info.run_id, "models")}
    assert "models/lightgbm_model.txt" in models and "models/sha256.json" in models


def test_a_failed_study_ends_failed_with_the_error(store):
    cwd, _, failed = store
    assert failed.returncode == 2
    assert "Traceback" not in failed.stderr
    client = _client(cwd)
    experiment = client.get_experiment_by_name("ctdc-risk")
    runs = client.search_runs([experiment.experiment_id], "attributes.status = 'FAILED'")
    assert len(runs) == 1
    assert "privacy.k = 100" in runs[0].data.tags["error"]
    assert runs[0].info.end_time is not None


def test_tracking_none_writes_no_store(tmp_path):
    out = _cli("debug=default", "tracking=none", "hydra.run.dir=run", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert not (tmp_path / "mlflow.db").exists()
    assert (tmp_path / "run" / "report.html").exists()


def test_secrets_in_uris_are_redacted():
    assert redact("postgresql://ctdc:s3cret@127.0.0.1:5432/mlflow") == (
        "postgresql://ctdc:***@127.0.0.1:5432/mlflow"
    )
    assert redact("sqlite:////tmp/mlflow.db") == "sqlite:////tmp/mlflow.db"


def test_flatten_gives_dotted_params():
    assert flatten({"a": {"b": 1, "c": [1, 2]}, "d": None}) == {
        "a.b": "1",
        "a.c": "[1, 2]",
        "d": "None",
    }


def test_bad_tracking_config():
    with pytest.raises(ConfigError, match="tracking: unknown key 'uri'"):
        TrackingSpec.from_mapping({"uri": "x"})


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_mlflow_ui_lists_the_run_with_its_report(store):
    """A real `mlflow ui` on the default store, queried through its REST API."""
    import json
    import time
    import urllib.request

    cwd, _, _ = store
    port = _free_port()
    mlflow_exe = str(Path(sys.executable).with_name("mlflow"))
    server = subprocess.Popen(
        [mlflow_exe, "ui", "--backend-store-uri", f"sqlite:///{(cwd / 'mlflow.db').resolve()}",
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("mlflow ui did not answer within 90 s")
                time.sleep(0.5)

        def call(path: str, body: dict | None = None) -> dict:
            data = json.dumps(body).encode() if body is not None else None
            req = urllib.request.Request(
                f"{base}/api/2.0/mlflow/{path}", data=data,
                headers={"Content-Type": "application/json"},
            )  # fmt: skip
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.loads(r.read())

        experiment = call("experiments/get-by-name?experiment_name=ctdc-risk")["experiment"]
        runs = call("runs/search", {"experiment_ids": [experiment["experiment_id"]]})["runs"]
        finished = [r for r in runs if r["info"]["status"] == "FINISHED"]
        assert len(finished) == 1
        run = finished[0]
        assert {p["key"] for p in run["data"]["params"]} >= {"cohort.name", "target.name"}
        assert {m["key"] for m in run["data"]["metrics"]} >= {"cv/roc_auc_mean"}
        assert {t["key"] for t in run["data"]["tags"]} >= {"cohort", "data_sha256"}
        files = call(f"artifacts/list?run_id={run['info']['run_id']}")["files"]
        assert "report.html" in {f["path"] for f in files}
    finally:
        server.terminate()
        server.wait(timeout=30)


# One independent study: opens its run on a store nobody has created yet, once every other
# process is ready to do the same, and logs an artifact naming itself.
STUDY_ON_A_NEW_STORE = """
import sys, time
from pathlib import Path
import mlflow.tracking  # imported before the start line: the race is the store's creation
from ctdc_risk.tracking import TrackingSpec, track_study

cwd, name, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
(cwd / f"ready-{name}").touch()
while len(list(cwd.glob("ready-*"))) < n:
    time.sleep(0.001)
with track_study(TrackingSpec(), config={"name": name}, run_name=name, cwd=cwd) as run:
    mlflow.tracking.MlflowClient(run.tracking_uri).log_text(run.run_id, name, "who.txt")
"""


def test_studies_creating_a_new_store_together_all_succeed(tmp_path):
    names = ["a", "b", "c"]
    procs = [
        subprocess.Popen([sys.executable, "-c", STUDY_ON_A_NEW_STORE, str(tmp_path), name, "3"],
                         stderr=subprocess.PIPE, text=True)
        for name in names
    ]  # fmt: skip
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], "\n".join(e[-1500:] for e in errors)
    runs = _client(tmp_path).search_runs(["1"])
    assert sorted(r.info.run_name for r in runs) == names
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert len({r.info.artifact_uri for r in runs}) == 3  # each run its own artifact folder
    for run in runs:
        text = (tmp_path / "mlartifacts" / run.info.run_id / "artifacts" / "who.txt").read_text()
        assert text == run.info.run_name


def test_a_full_or_read_only_artifact_folder_is_named_and_other_errors_pass():
    import errno

    from ctdc_risk.errors import TrackingError
    from ctdc_risk.tracking import _store_faults

    uri, artifacts = "sqlite:////data/mlflow.db", "file:///data/mlartifacts/1/abc/artifacts"
    full = f"MLflow artifact store {artifacts} cannot be written: its disk is full"
    with pytest.raises(TrackingError, match=full), _store_faults(uri, artifacts=artifacts):
        raise OSError(errno.ENOSPC, "No space left on device")
    read_only = "cannot be written \\(Read-only file system\\)"
    with pytest.raises(TrackingError, match=read_only), _store_faults(uri, artifacts=artifacts):
        raise OSError(errno.EROFS, "Read-only file system")
    with pytest.raises(KeyError), _store_faults(uri):  # not the store's fault: unchanged
        raise KeyError("x")
