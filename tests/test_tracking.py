"""MLflow tracking through the real CLI: one run per study (named by what it is, described by its
summary, with its dataset and headline keys), FAILED on error, off on request; independent
studies creating one new store together; names, keys and descriptions on hand-made inputs.

The MLflow UI itself (a sweep's runs in the real server and a browser) is tests/test_mlflow_ui.py.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli_in_process
from ctdc_risk.errors import ConfigError
from ctdc_risk.tracking import TrackingSpec, flatten, redact
from ctdc_risk.tracking.dataset import dataset_input, dataset_profile
from ctdc_risk.tracking.keys import (
    config_params,
    factor_key,
    factor_metrics,
    headline_params,
    run_params,
)
from ctdc_risk.tracking.naming import (
    child_run_name,
    experiment_description,
    summary_note,
    sweep_run_name,
    words,
)

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
    # The failed study needs only its exit code, its message and the store: in this process.
    failed = run_cli_in_process("debug=default", "privacy.k=100", "hydra.run.dir=failed", cwd=cwd)
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
    # The printed address opens the runs table, not MLflow 3's GenAI overview.
    page = f"#/experiments/{experiment.experiment_id}/runs?workflowType=machine_learning"
    assert f"  then browse to: http://127.0.0.1:5000/{page}" in ok.stdout.splitlines()
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
    # Named by what it is, described by the report's summary sentences.
    assert run.info.run_name == "children · family recruitment · generated data"
    note = run.data.tags["mlflow.note.content"]
    assert note.startswith("**What goes with being recruited by a family member: children**")
    assert "- This study looks at " in note and "generated cases" in note
    # Headline params and scores under keys that sort first; the study's own keys stay.
    assert run.data.params["Cohort"] == "children"
    assert run.data.params["Target"] == "family recruitment"
    assert run.data.params["Model"] == "logistic, lightgbm"
    assert run.data.params["Data"] == "generated data"
    assert run.data.metrics["ROC AUC"] == run.data.metrics["cv/roc_auc_mean"]
    assert run.data.metrics["ROC AUC baseline"] == run.data.metrics["baseline/roc_auc_mean"]
    assert min(run.data.params) == "Cohort" and min(run.data.metrics) == "ROC AUC"
    # The dataset it read: metadata only, digest from the file's sha256.
    (entry,) = run.inputs.dataset_inputs
    assert entry.dataset.digest == run.data.tags["data_sha256"][:12]
    assert entry.dataset.source_type == "code"
    assert "generated" in entry.dataset.source
    profile = json.loads(entry.dataset.profile)
    assert profile["rows"] == 2000 and profile["sha256"] == run.data.tags["data_sha256"]
    assert {(t.key, t.value) for t in entry.tags} >= {("mlflow.data.context", "study")}
    # The experiment opens on training runs and says what it holds.
    tags = experiment.tags
    assert tags["mlflow.experimentKind"] == "custom_model_development"
    assert tags["mlflow.note.content"].startswith("Studies run with ctdc-risk")
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
    out = run_cli_in_process("debug=default", "tracking=none", "hydra.run.dir=run", cwd=tmp_path)
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
    from ctdc_risk.tracking.faults import store_faults as _store_faults

    uri, artifacts = "sqlite:////data/mlflow.db", "file:///data/mlartifacts/1/abc/artifacts"
    full = f"MLflow artifact store {artifacts} cannot be written: its disk is full"
    with pytest.raises(TrackingError, match=full), _store_faults(uri, artifacts=artifacts):
        raise OSError(errno.ENOSPC, "No space left on device")
    read_only = "cannot be written \\(Read-only file system\\)"
    with pytest.raises(TrackingError, match=read_only), _store_faults(uri, artifacts=artifacts):
        raise OSError(errno.EROFS, "Read-only file system")
    with pytest.raises(KeyError), _store_faults(uri):  # not the store's fault: unchanged
        raise KeyError("x")


def test_sweep_children_are_named_by_the_swept_values_only():
    task = ["debug=default", "data=ctdc", "data.path=/home/me/very/long/ctdc_2021.csv",
            "model=logistic", "explain.multiplicity=bh"]  # fmt: skip
    name = child_run_name(task, ["model", "data.path"], 3)
    assert name == "path ctdc_2021.csv · model logistic"
    assert "/home" not in name and "debug" not in name
    assert child_run_name(task, ["seed"], 3) == "job 3"  # the swept key is not in the task
    # Two swept keys ending alike are told apart by their whole key.
    clash = child_run_name(["a.alpha=1", "b.alpha=2"], ["a.alpha", "b.alpha"], 0)
    assert clash == "a.alpha 1 · b.alpha 2"


def test_a_sweep_parent_names_what_varies_and_what_the_jobs_share():
    config = {"cohort": {"name": "children_0_8"}, "target": {"name": "family_recruitment"},
              "data": {"source": "file", "path": "/data/ctdc/synthetic_2021.csv"}}  # fmt: skip
    assert sweep_run_name(config, ["model", "seed"]) == (
        "sweep over model, seed · children 0-8 · family recruitment · synthetic_2021.csv"
    )
    assert (
        sweep_run_name(config, ["target", "data.path"]) == "sweep over target, path · children 0-8"
    )


def test_words_never_give_a_whole_path():
    assert words("C:\\Users\\me\\ctdc.xlsx") == "ctdc.xlsx"
    assert words("9--17") == "9-17" and words("trans_nonconforming") == "trans nonconforming"


def _row(factor, level, label, **values):
    from ctdc_risk.factors.factor_rows import COLUMNS, FactorRow

    data = dict.fromkeys(COLUMNS)
    data.update(factor=factor, level=level, label=label, factor_label=factor, reason="",
                adjusted_note="", shap_model="logistic", reference_level="ref",
                domv_level="individual", phase="before_recruitment")  # fmt: skip
    data.update(values)
    return FactorRow(**data)


def test_factor_metrics_are_ratios_of_labelled_levels_under_valid_stable_keys():
    from mlflow.utils.validation import _validate_metric_name

    rows = [
        _row("age_band", "0--8", "risk", adjusted_or=2.5, adjusted_or_low=1.5,
             adjusted_or_high=4.1, shap_importance=0.3, n_with=4, n_without=3),
        _row("citizenship_subregion", "Latin America and the Caribbean", "protective",
             adjusted_or=0.4, adjusted_or_low=0.2, adjusted_or_high=0.8, shap_importance=0.1),
        _row("gender", "male", "unclear", adjusted_or=1.1, adjusted_or_low=0.9,
             adjusted_or_high=1.3, shap_importance=0.05),
        _row("gender", "trans_nonconforming", "suppressed", adjusted_or=9.0),
    ]  # fmt: skip
    metrics = factor_metrics(rows)
    assert metrics == {
        "factor/age_band/0-8/or": 2.5,
        "factor/age_band/0-8/or_low": 1.5,
        "factor/age_band/0-8/or_high": 4.1,
        "factor/age_band/0-8/shap": 0.3,
        "factor/citizenship_subregion/Latin America and the Caribbean/or": 0.4,
        "factor/citizenship_subregion/Latin America and the Caribbean/or_low": 0.2,
        "factor/citizenship_subregion/Latin America and the Caribbean/or_high": 0.8,
        "factor/citizenship_subregion/Latin America and the Caribbean/shap": 0.1,
    }  # counts (n_with 4 < k) never become metrics; unclear and suppressed levels neither
    for key in metrics:
        _validate_metric_name(key)
    for odd in ("other (fewer than k cases)", "a/b=c", "..", "Côte d'Ivoire"):
        key = factor_key("citizenship", odd)
        _validate_metric_name(key)
        assert key == factor_key("citizenship", odd)  # stable


def test_headline_params_sort_before_the_config():
    config = {"cohort": {"name": "boys", "rules": [{"name": "child"}]},
              "target": {"name": "forced_labour"}, "model": {"use": ["lightgbm"]}}  # fmt: skip
    assert headline_params(config) == {"Cohort": "boys", "Target": "forced labour",
                                       "Model": "lightgbm"}  # fmt: skip
    keys = [k for k, _ in run_params(config)]
    # JavaScript's default sort, as MLflow's compare page uses: code-unit order.
    assert sorted(keys)[:3] == ["Cohort", "Model", "Target"]
    assert "cohort.rules" in keys
    # compare reads the config alone: no headline copy looks like a setting of its own.
    params = dict(run_params(config))
    assert config_params({**params, "Data": "synthetic 2021"}) == flatten(config)


def test_dataset_profile_shows_no_count_under_k():
    from ctdc_risk.data.data_report import DataReport
    from ctdc_risk.data.io import SourceInfo

    source = SourceInfo("/data/tiny.csv", "tiny.csv", "ab" * 32, 100, "csv")
    report = DataReport(source, "synthetic_2021", "label", "positive_only", 7, 5, {}, 37, (),
                        (), (), {}, {}, {}, 1.0, {}, {}, 0, 0)  # fmt: skip
    profile = dataset_profile(report, k=10)
    assert profile["rows"] == "<10" and profile["rows_read"] == "<10"
    assert profile["sha256"] == "ab" * 32 and profile["release"] == "synthetic_2021"
    entry = dataset_input(report, k=10)
    assert entry.dataset.name == "tiny.csv" and entry.dataset.digest == "ab" * 6
    assert entry.dataset.source_type == "local"
    assert json.loads(entry.dataset.source) == {"uri": "/data/tiny.csv"}
    assert json.loads(entry.dataset.profile)["rows"] == "<10"
    assert {(t.key, t.value) for t in entry.tags} == {
        ("mlflow.data.context", "study"),
        ("release", "synthetic 2021"),
    }


def test_descriptions_come_from_the_report_and_the_experiment_file(tmp_path):
    report = tmp_path / "report.md"
    report.write_text("# Title here\n\n> banner\n\n## Summary\n\n- One.\n- Two.\n\n"
                      "## How sure are we\n\n- Not this.\n")  # fmt: skip
    assert summary_note(report) == "**Title here**\n\n- One.\n- Two."
    assert summary_note(tmp_path / "missing.md") == ""
    question = experiment_description("model_comparison")
    assert question.startswith("Question: do logistic regression and LightGBM agree")
    assert "    ctdc-risk -m experiment=model_comparison" in question
    assert experiment_description("../../etc/passwd").startswith("Studies run with ctdc-risk")
