"""The team-server path: a sweep from parallel jobs into a PostgreSQL-backed `mlflow server`.

``scripts/team-server.sh`` starts a throwaway PostgreSQL cluster and an MLflow server on
127.0.0.1 (``make postgres`` installs PostgreSQL; ``make test`` runs it first).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPT = REPO_ROOT / "scripts" / "team-server.sh"
EXE = str(Path(sys.executable).with_name("ctdc-risk"))
# A PostgreSQL cluster, an MLflow server and a parallel sweep.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    where = tmp_path_factory.mktemp("team_server")
    env = {**os.environ, "PYTHON_BIN": str(Path(sys.executable).parent)}
    started = subprocess.run(
        ["bash", str(SCRIPT), "start", str(where)], capture_output=True, text=True, env=env,
        timeout=300,
    )  # fmt: skip
    if started.returncode == 3:
        pytest.skip(f"PostgreSQL is not installed ({started.stderr.strip()})")
    assert started.returncode == 0, started.stderr + (where / "mlflow.log").read_text()
    try:
        yield started.stdout.strip().splitlines()[-1], where
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", str(where)], env=env, timeout=120)


def test_the_server_listens_on_loopback_only(server):
    uri, where = server
    assert uri.startswith("http://127.0.0.1:")
    assert "127.0.0.1" in (where / "mlflow.log").read_text()


def test_a_parallel_sweep_lands_every_run_on_the_team_server(server, tmp_path):
    from mlflow.tracking import MlflowClient

    uri, where = server
    out = subprocess.run(
        [EXE, "-m", "debug=default", "model=logistic", "stability.n_boot=2",
         "seed=1,2,3,4", "hydra/launcher=joblib",
         "hydra.launcher.n_jobs=2", f"tracking.tracking_uri={uri}",
         "tracking.experiment=team_sweep"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
        env={**os.environ, "HYDRA_FULL_ERROR": "0"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "mlartifacts").exists()
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("team_sweep")
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("sweep") == "parent"]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    # 4 jobs on 2 workers: two write to the server at any moment, as 8 jobs would.
    assert len(parents) == 1 and len(children) == 4
    assert {r.info.status for r in runs} == {"FINISHED"}
    for child in children:
        assert "cv/roc_auc_mean" in child.data.metrics
        names = {a.path for a in client.list_artifacts(child.info.run_id)}
        assert {"report.html", "factors.csv", "models"} <= names
    summary = {a.path for a in client.list_artifacts(parents[0].info.run_id)}
    assert "sweep_summary.md" in summary
    # The server keeps the artifacts: they are in its folder, not on the client.
    assert len(list((where / "artifacts").rglob("report.html"))) == 4


def test_secrets_in_the_uri_and_environment_reach_no_output(server, tmp_path):
    """Canary passwords in the tracking URI and in MLflow's credential variables never appear
    in the terminal, the run folder, the run's params and tags, or the server's artifacts."""
    from mlflow.tracking import MlflowClient

    uri, where = server
    uri_canary, env_canary = "UriCanary-91c2e", "EnvCanary-5d0b7"
    secret_uri = uri.replace("http://", f"http://ctdc:{uri_canary}@")
    out = subprocess.run(
        [EXE, "debug=default", "model=logistic", "stability.n_boot=2",
         f"tracking.tracking_uri={secret_uri}", "tracking.experiment=canary", "hydra.run.dir=run"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
        env={**os.environ, "HYDRA_FULL_ERROR": "0", "MLFLOW_TRACKING_USERNAME": "ctdc",
             "MLFLOW_TRACKING_PASSWORD": env_canary},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    places = {"stdout": out.stdout, "stderr": out.stderr}
    for folder in (tmp_path / "run", where / "artifacts"):
        for path in folder.rglob("*"):
            if path.is_file():
                places[str(path)] = path.read_bytes().decode("utf-8", "replace")
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("canary")
    (run,) = client.search_runs([experiment.experiment_id])
    places["params"] = repr(run.data.params)
    places["tags"] = repr(run.data.tags)
    assert any("ctdc:***@" in text for text in places.values())  # the URI is shown, redacted
    for name, text in places.items():
        assert uri_canary not in text, name
        assert env_canary not in text, name
