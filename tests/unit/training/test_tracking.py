"""MLflow tracking: tags tie a run to the Dagster graph, a model is logged (and registered only when
asked) with its params, metrics and training input, and the BOM is stored and read back."""

import os
import shutil
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from mlflow.tracking._model_registry import utils as registry_utils
from mlflow.tracking._tracking_service import utils as tracking_utils

from pipeline.declarations.dataset import ModelSpec
from pipeline.errors import GovernError
from pipeline.training.model import TrainingResult, train
from pipeline.training.promotion import promote
from pipeline.training.tracking import (
    TrackedModel,
    ensure_experiment,
    load_bom,
    log_bom,
    log_model,
    model_tags,
    version_tag,
    version_tags,
)

# MLflow's hint about integer columns in the inferred signature is noise here.
pytestmark = pytest.mark.filterwarnings("ignore:Hint. Inferred schema contains integer")

SPEC = ModelSpec(
    name="churn_model",
    target="churned",
    numeric_features=["tenure_days"],
    categorical_features=["plan"],
    estimator="sklearn.linear_model.LogisticRegression",
)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    tenure = rng.integers(1, 1000, 120).astype(float)
    return pd.DataFrame(
        {
            "tenure_days": tenure,
            "plan": rng.choice(["basic", "pro"], 120),
            "churned": ((tenure + rng.normal(0, 150, 120)) < 400).astype(int),
        }
    )


@pytest.fixture(scope="module")
def result(frame: pd.DataFrame) -> TrainingResult:
    return train(frame, SPEC, {}, seed=1, test_size=0.25)


@pytest.fixture
def store(tmp_path: Path, empty_store: Path):
    """This test's store (tracking URI, artifact root), and MLflow's process-wide URIs restored.

    ``log_model`` sets the global tracking and registry URIs and exports them as environment
    variables; all four are put back afterwards so no later test reads this test's store.
    """
    variables = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    environment = {name: os.environ.get(name) for name in variables}
    previous = (tracking_utils._tracking_uri, registry_utils._registry_uri)
    shutil.copy(empty_store, tmp_path / "mlflow.db")
    yield f"sqlite:///{tmp_path / 'mlflow.db'}", (tmp_path / "artifacts").as_uri()
    mlflow.set_tracking_uri(previous[0])
    mlflow.set_registry_uri(previous[1])
    for name, value in environment.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def log(store, result: TrainingResult, frame: pd.DataFrame, register: bool, **extra):
    uri, artifacts = store
    arguments = {
        "tracking_uri": uri,
        "artifact_root": artifacts,
        "experiment": "governed-pipeline",
        "model_name": SPEC.name,
        "result": result,
        "training_frame": frame,
        "training_dataset_name": "customer_features",
        "training_digest": "f" * 32,
        "params": {"seed": 1, "estimator": SPEC.estimator},
        "tags": {"dagster.run_id": "run-1"},
        "register": register,
        **extra,
    }
    return log_model(**arguments)


def client_of(store) -> MlflowClient:
    uri, _ = store
    return MlflowClient(uri, registry_uri=uri)


# --- tags -------------------------------------------------------------------------------------


def test_version_tags_name_each_upstream_asset_and_never_leave_a_blank():
    # given one asset with versions and its Delta table version, and one never materialized
    facts = {
        "raw_customers": {
            "data_version": "d1",
            "code_version": "c1",
            "metadata": {"table_version": 7},
        },
        "customer_features": {},
    }
    # when they become tags
    tags = version_tags(facts)
    # then each asset has a data and code tag, 'none' where nothing was recorded, and the
    # table version where one was published (what `govern reproduce` reads back)
    assert tags == {
        "dagster.asset.raw_customers.data_version": "d1",
        "dagster.asset.raw_customers.code_version": "c1",
        "dagster.asset.raw_customers.table_version": "7",
        "dagster.asset.customer_features.data_version": "none",
        "dagster.asset.customer_features.code_version": "none",
    }, tags
    assert version_tag("x", "data") == "dagster.asset.x.data_version", "one spelling everywhere"


def test_model_tags_carry_the_run_the_gate_the_code_and_the_declarations():
    # given the facts of a blocked run
    tags = model_tags(
        dagster_run={"run_id": "r-9", "job": "churn_job"},
        model="churn_model",
        dataset="churn",
        gate_passed=False,
        code={"git_commit": "abc123", "lock_sha256": "99"},
        declaration_hashes={"govern.policy.customers.sha256": "p1"},
        versions={"dagster.asset.raw_customers.data_version": "d1"},
    )
    # then every fact is a tag, code facts are namespaced, and the gate says 'blocked'
    assert tags == {
        "dagster.run_id": "r-9",
        "dagster.run_url": "http://127.0.0.1:3000/runs/r-9",
        "dagster.job": "churn_job",
        "dagster.asset": "churn_model",
        "govern.dataset": "churn",
        "govern.gate.evaluation": "blocked",
        "govern.git_commit": "abc123",
        "govern.lock_sha256": "99",
        "govern.policy.customers.sha256": "p1",
        "dagster.asset.raw_customers.data_version": "d1",
    }, tags


# --- logging ----------------------------------------------------------------------------------


def test_an_unregistered_model_is_logged_with_its_evidence(store, result, frame):
    # given a trained model whose gate failed, with one parameter too long for MLflow
    long_param = "x" * 600
    # when it is logged without registration
    tracked = log(store, result, frame, register=False, params={"seed": 1, "grid": long_param})
    # then nothing is registered, but the run holds the tags, params, metrics and input
    client = client_of(store)
    assert (tracked.registered_name, tracked.version) == (None, None), "no registration asked"
    assert client.search_registered_models() == [], "a blocked model must not be registered"
    run = client.get_run(tracked.run_id)
    assert run.data.tags["dagster.run_id"] == "run-1", "the run must name the Dagster run"
    assert run.data.params["seed"] == "1", "params are logged"
    assert len(run.data.params["grid"]) == 500, "a long param is cut to MLflow's 500 characters"
    assert run.data.params["grid"].endswith("..."), "a cut param says it was cut"
    assert run.data.metrics == pytest.approx(result.metrics), "every metric is logged"
    [training] = run.inputs.dataset_inputs
    assert (training.dataset.name, training.dataset.digest) == ("customer_features", "f" * 32), (
        "the training input's digest must be the feature table's Dagster data version"
    )
    assert [t.value for t in training.tags] == ["training"], "the input is the training set"


def test_the_logged_model_predicts_like_the_trained_one_and_lives_under_the_artifact_root(
    store, result, frame
):
    # given a logged model
    tracked = log(store, result, frame, register=False)
    # when it is loaded back from MLflow (skops, no pickle)
    loaded = mlflow.sklearn.load_model(tracked.model_uri)
    # then it gives the same probabilities, and its artifacts are not in the working directory
    expected = result.model.predict_proba(result.input_example)
    assert np.allclose(loaded.predict_proba(result.input_example), expected), "same model back"
    experiment = client_of(store).get_experiment(tracked.experiment_id)
    assert experiment.artifact_location == f"{store[1]}/governed-pipeline", (
        "artifacts go under the configured root, one folder per experiment"
    )


def test_registered_versions_count_up_in_one_experiment(store, result, frame):
    # given two models logged with registration into the same experiment
    first = log(store, result, frame, register=True)
    second = log(store, result, frame, register=True)
    # then they share the experiment and are versions 1 and 2 of the declared model
    assert first.experiment_id == second.experiment_id, "the experiment is created once"
    assert (first.registered_name, first.version) == ("churn_model", "1"), first
    assert second.version == "2", "each registered run is a new version"
    assert ensure_experiment("governed-pipeline", store[1]) == first.experiment_id, (
        "asking again for an existing experiment returns it, not a new one"
    )


# --- the BOM artifact -------------------------------------------------------------------------


def test_the_bom_is_read_back_by_version_by_alias_and_as_the_champion(store, result, frame):
    # given two registered versions with their own BOMs; v2 worse, so v1 stays champion
    uri, _ = store
    boms = {}
    for roc_auc in (result.metrics["roc_auc"], result.metrics["roc_auc"] - 0.2):
        tracked: TrackedModel = log(store, result, frame, register=True)
        boms[tracked.version] = {"model": {"version": tracked.version}, "bom_version": 1}
        log_bom(uri, tracked.run_id, boms[tracked.version])
        promote(uri, SPEC.name, tracked.version, "roc_auc", roc_auc, 0.0)
    # when BOMs are loaded by number, alias and with no selector
    # then each reference resolves to its own version's document
    assert load_bom(uri, "churn_model@1") == boms["1"], "@N is the version number"
    assert load_bom(uri, "churn_model@challenger") == boms["2"], "@alias follows the alias"
    assert load_bom(uri, "churn_model") == boms["1"], "no selector means the champion"


def test_an_unknown_model_or_alias_is_a_clear_error(store, result, frame):
    # given a registry with one version and no 'staging' alias
    uri, _ = store
    tracked = log(store, result, frame, register=True)
    log_bom(uri, tracked.run_id, {"bom_version": 1})
    # then unknown references fail with the reference and the store named
    for reference in ("no_such_model", "churn_model@staging", "churn_model@7"):
        with pytest.raises(GovernError, match=f"{reference}: no such model version or alias in"):
            load_bom(uri, reference)
