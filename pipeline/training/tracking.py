"""MLflow: log a trained model with the facts that tie it back to the Dagster graph.

The run gets params, metrics, a signature, a redacted input example and tags naming the Dagster
run and every upstream asset's data version; ``log_input`` records the training table with a
digest equal to its Dagster data version. The model is registered only when every gate passed.
"""

import fcntl
from dataclasses import dataclass
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from pipeline import settings
from pipeline.errors import GovernError

if TYPE_CHECKING:  # reading the registry (govern lineage, diff, report) needs no scikit-learn
    from pipeline.training.model import TrainingResult


@dataclass(frozen=True)
class TrackedModel:
    run_id: str
    experiment_id: str
    model_uri: str
    registered_name: str | None
    version: str | None


def ensure_experiment(name: str, artifact_root: str) -> str:
    """The experiment's id; created with artifacts under the run-time folder, not the CWD."""
    client = MlflowClient()
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    try:
        return client.create_experiment(
            name, artifact_location=f"{artifact_root.rstrip('/')}/{name}"
        )
    except MlflowException as exc:
        # Two first runs at once: the other one created it between our look and our create.
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        return client.get_experiment_by_name(name).experiment_id


def _requirements() -> list[str]:
    # Given explicitly: inferring them costs seconds and can reach for the network.
    return [
        f"scikit-learn=={installed_version('scikit-learn')}",
        f"pandas=={pd.__version__}",
        f"numpy=={np.__version__}",
        f"mlflow=={mlflow.__version__}",
    ]


def version_tags(facts: dict[str, dict[str, Any]]) -> dict[str, str]:
    """MLflow tags with each upstream asset's data and code version, and the Delta version of
    the table it published (what `govern reproduce` reads back by time travel)."""
    tags = {}
    for key, fact in facts.items():
        tags[version_tag(key, "data")] = fact.get("data_version") or "none"
        tags[version_tag(key, "code")] = fact.get("code_version") or "none"
        table_version = fact.get("metadata", {}).get("table_version")
        if table_version is not None:
            tags[version_tag(key, "table")] = str(table_version)
    return tags


def version_tag(asset: str, kind: str) -> str:
    """``dagster.asset.<asset>.data_version``, ``...code_version`` or ``...table_version``."""
    return f"dagster.asset.{asset}.{kind}_version"


def model_tags(
    *,
    dagster_run: dict[str, str],
    model: str,
    dataset: str,
    gate_passed: bool,
    code: dict[str, str],
    declaration_hashes: dict[str, str],
    versions: dict[str, str],
) -> dict[str, str]:
    """The MLflow run's tags: Dagster run, gate verdict, code, declarations, data versions."""
    return {
        "dagster.run_id": dagster_run["run_id"],
        "dagster.run_url": f"{settings.dagster_ui_url()}/runs/{dagster_run['run_id']}",
        "dagster.job": dagster_run["job"],
        "dagster.asset": model,
        "govern.dataset": dataset,
        "govern.gate.evaluation": "passed" if gate_passed else "blocked",
        **{f"govern.{k}": v for k, v in code.items()},
        **declaration_hashes,
        **versions,
    }


def log_model(
    *,
    tracking_uri: str,
    artifact_root: str,
    experiment: str,
    model_name: str,
    result: "TrainingResult",
    training_frame: pd.DataFrame,
    training_dataset_name: str,
    training_digest: str,
    params: dict[str, Any],
    tags: dict[str, str],
    register: bool,
) -> TrackedModel:
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    experiment_id = ensure_experiment(experiment, artifact_root)
    with mlflow.start_run(experiment_id=experiment_id, tags=tags) as run:
        mlflow.log_params({k: _param(v) for k, v in params.items()})
        mlflow.log_metrics(result.metrics)
        dataset = mlflow.data.from_pandas(
            training_frame, name=training_dataset_name, digest=training_digest
        )
        mlflow.log_input(dataset, context="training")
        signature = infer_signature(
            result.input_example, result.model.predict_proba(result.input_example)[:, 1]
        )
        info = mlflow.sklearn.log_model(
            result.model,
            name="model",
            signature=signature,
            input_example=result.input_example,
            pip_requirements=_requirements(),
            skops_trusted_types=_own_types(result.model),
        )
    version = None
    if register:
        # The registry is where a model is looked up: its version is created carrying the
        # same Dagster run, data and code versions and declaration hashes as the run that
        # produced it, in one write (never a version without them, even for a moment).
        version = mlflow.register_model(info.model_uri, model_name, tags=tags).version
    return TrackedModel(
        run.info.run_id,
        experiment_id,
        info.model_uri,
        model_name if register else None,
        str(version) if version is not None else None,
    )


def _own_types(model: Any) -> list[str]:
    """The types skops asks to trust for a model this process trained itself.

    MLflow stores scikit-learn models with skops (no pickle); loading needs the list of
    non-default types, which are safe here because we built the object, not a stranger.
    skops is imported here, not with the module: it scans scikit-learn's modules as it loads
    (a second of every process that imports the code location, most of which never train).
    """
    import skops.io

    return skops.io.get_untrusted_types(data=skops.io.dumps(model))


def _param(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 500 else text[:497] + "..."


def log_bom(tracking_uri: str, run_id: str, bom: dict[str, Any]) -> None:
    """The training bill of materials, as the run's ``bom.json`` artifact."""
    MlflowClient(tracking_uri).log_dict(run_id, bom, "bom.json")


def load_bom(tracking_uri: str, reference: str) -> dict[str, Any]:
    """The BOM of ``MODEL[@VERSION|@ALIAS]`` (no suffix: the champion)."""
    name, _, selector = reference.partition("@")
    selector = selector or "champion"
    client = MlflowClient(tracking_uri, registry_uri=tracking_uri)
    mlflow.set_tracking_uri(tracking_uri)
    try:
        version = (
            client.get_model_version(name, selector)
            if selector.isdigit()
            else client.get_model_version_by_alias(name, selector)
        )
        return mlflow.artifacts.load_dict(f"runs:/{version.run_id}/bom.json")
    except mlflow.exceptions.MlflowException as exc:
        raise GovernError(
            f"{reference}: no such model version or alias in {tracking_uri} "
            f"({str(exc).splitlines()[0][:160]})"
        ) from None


PROFILE_ARTIFACT = "feature_profile.json"


def log_profile(tracking_uri: str, run_id: str, profile: dict[str, Any]) -> None:
    """The training set's reference profile, as the run's ``feature_profile.json`` artifact."""
    MlflowClient(tracking_uri).log_dict(run_id, profile, PROFILE_ARTIFACT)


def load_profile(tracking_uri: str, run_id: str) -> dict[str, Any] | None:
    """The reference profile logged with a run; None for a run trained before profiles were."""
    client = MlflowClient(tracking_uri)
    if PROFILE_ARTIFACT not in [a.path for a in client.list_artifacts(run_id)]:
        return None
    mlflow.set_tracking_uri(tracking_uri)
    return mlflow.artifacts.load_dict(f"runs:/{run_id}/{PROFILE_ARTIFACT}")


def champion_profile(tracking_uri: str, model_name: str) -> tuple[str, dict[str, Any]] | None:
    """The champion's version and reference profile; None without a champion or a profile."""
    client = MlflowClient(tracking_uri, registry_uri=tracking_uri)
    try:
        champion = client.get_model_version_by_alias(model_name, "champion")
    except mlflow.exceptions.MlflowException:
        return None  # no registered model yet, or no champion among its versions
    profile = load_profile(tracking_uri, champion.run_id)
    return None if profile is None else (str(champion.version), profile)


def prepare_store(tracking_uri: str, lock_file: Path) -> None:
    """Create the tracking store's and registry's tables now, one process at a time.

    MLflow creates its schema on first use: two runs starting at once on a new store would both
    try, and one would fail with ``table ... already exists``. Holding a file lock while the
    first use happens makes the second find the schema made.
    """
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            client = MlflowClient(tracking_uri, registry_uri=tracking_uri)
            client.search_experiments(max_results=1)
            client.search_registered_models(max_results=1)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
