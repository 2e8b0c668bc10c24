"""MLflow: log a trained model with the facts that tie it back to the Dagster graph.

The run gets params, metrics, a signature, a redacted input example and tags naming the Dagster
run and every upstream asset's data version; ``log_input`` records the training table with a
digest equal to its Dagster data version. The model is registered only when every gate passed.
"""

from dataclasses import dataclass
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import sklearn
import skops.io
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from pipeline.training import TrainingResult


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
    return client.create_experiment(name, artifact_location=f"{artifact_root.rstrip('/')}/{name}")


def _requirements() -> list[str]:
    # Given explicitly: inferring them costs seconds and can reach for the network.
    return [f"scikit-learn=={sklearn.__version__}", f"pandas=={pd.__version__}",
            f"numpy=={np.__version__}", f"mlflow=={mlflow.__version__}"]


def log_model(
    *,
    tracking_uri: str,
    artifact_root: str,
    experiment: str,
    model_name: str,
    result: TrainingResult,
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
        dataset = mlflow.data.from_pandas(training_frame, name=training_dataset_name,
                                          digest=training_digest)
        mlflow.log_input(dataset, context="training")
        signature = infer_signature(result.input_example,
                                    result.model.predict_proba(result.input_example)[:, 1])
        info = mlflow.sklearn.log_model(
            result.model, name="model", signature=signature,
            input_example=result.input_example, pip_requirements=_requirements(),
            skops_trusted_types=_own_types(result.model),
            registered_model_name=model_name if register else None,
        )
    version = info.registered_model_version
    return TrackedModel(run.info.run_id, experiment_id, info.model_uri,
                        model_name if register else None,
                        str(version) if version is not None else None)


def _own_types(model: Any) -> list[str]:
    """The types skops asks to trust for a model this process trained itself.

    MLflow stores scikit-learn models with skops (no pickle); loading needs the list of
    non-default types, which are safe here because we built the object, not a stranger.
    """
    return skops.io.get_untrusted_types(data=skops.io.dumps(model))


def _param(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 500 else text[:497] + "..."
