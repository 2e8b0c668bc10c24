"""Model assets: train the declared estimator, gate it, log it to MLflow, register it.

The MLflow run is tagged with the Dagster run and the data and code version of every upstream
asset, the policy and contract hashes, the git commit and the lock file's hash. The model is
registered only if its evaluation gate passes.
"""

import hashlib
import json
from pathlib import Path
from typing import Any

import dagster as dg

from assets.validate import audited, gate_result
from pipeline.declarations import DatasetSpec
from pipeline.provenance import git_state, lock_sha256
from pipeline.resources import MlflowResource, Warehouse
from pipeline.tracking import log_model
from pipeline.training import train
from pipeline.warehouse import read_table


class TrainingConfig(dg.Config):
    seed: int | None = None
    """Seed for the split and the estimator; default from the dataset declaration."""
    test_size: float | None = None
    params: dict[str, Any] = {}
    """Hyperparameters, merged over the declaration's ``model.params``."""


def upstream_versions(instance: dg.DagsterInstance, keys: list[str]) -> dict[str, str]:
    """MLflow tags with each upstream asset's latest data and code version."""
    tags = {}
    for key in keys:
        event = instance.get_latest_materialization_event(dg.AssetKey(key))
        materialization = event.asset_materialization if event else None
        asset_tags = materialization.tags or {} if materialization else {}
        tags[f"dagster.asset.{key}.data_version"] = asset_tags.get("dagster/data_version", "none")
        tags[f"dagster.asset.{key}.code_version"] = asset_tags.get("dagster/code_version", "none")
    return tags


def build_train_asset(dataset: DatasetSpec, root: Path,
                      declaration_hashes: dict[str, str]) -> dg.AssetsDefinition:
    spec = dataset.model
    features_name = dataset.features.name
    upstream = [*(f"raw_{s}" for s in dataset.sources),
                *(f"redacted_{s}" for s in dataset.sources), features_name]
    check_specs = [dg.AssetCheckSpec(
        "evaluation_gate", asset=spec.name, blocking=True,
        description=f"Held-out {spec.metric} must be at least {spec.min_metric}; below it the "
                    "model is logged but not registered.",
    )]
    code_version = hashlib.sha256(spec.model_dump_json().encode()).hexdigest()[:16]

    @dg.asset(
        name=spec.name, group_name=dataset.name, deps=[features_name], check_specs=check_specs,
        code_version=code_version, kinds={"scikitlearn", "mlflow"},
        description=f"`{spec.estimator}` predicting `{spec.target}` from `{features_name}`, "
                    "logged to MLflow and registered if it passes its evaluation gate.",
        metadata={"estimator": spec.estimator, "target": spec.target,
                  "features": dg.MetadataValue.json(spec.features)},
    )
    def _train(context: dg.AssetExecutionContext, config: TrainingConfig, warehouse: Warehouse,
               mlflow: MlflowResource):
        with warehouse.connect() as conn:
            frame = read_table(conn, "features", features_name)
        seed = spec.seed if config.seed is None else config.seed
        test_size = spec.test_size if config.test_size is None else config.test_size
        params = {**spec.params, **config.params}
        result = train(frame, spec, params, seed, test_size)
        metric = result.metrics[spec.metric]
        passed = metric >= spec.min_metric
        summary = f"{spec.metric} {metric:.4f} {'>=' if passed else '<'} {spec.min_metric}"
        versions = upstream_versions(context.instance, upstream)
        features_version = versions[f"dagster.asset.{features_name}.data_version"]
        tags = {
            "dagster.run_id": context.run.run_id,
            "dagster.job": context.run.job_name,
            "dagster.asset": spec.name,
            "govern.dataset": dataset.name,
            "govern.gate.evaluation": "passed" if passed else "blocked",
            "govern.requirements_lock_sha256": lock_sha256(root),
            **{f"govern.{k}": v for k, v in git_state(root).items()},
            **declaration_hashes,
            **versions,
        }
        tracked = log_model(
            tracking_uri=mlflow.resolved_tracking_uri(),
            artifact_root=mlflow.resolved_artifact_root(),
            experiment=mlflow.experiment, model_name=spec.name, result=result,
            training_frame=frame, training_dataset_name=features_name,
            training_digest=features_version,
            params={**result.params, "seed": seed, "test_size": test_size,
                    "estimator": spec.estimator},
            tags=tags, register=passed,
        )
        yield from audited(spec.name, check_specs, [gate_result(
            "evaluation_gate", passed, summary,
            {"metric": spec.metric, "value": metric, "threshold": spec.min_metric,
             "mlflow_run_id": tracked.run_id})])
        context.log.info(f"{spec.name}: registered version {tracked.version} ({summary})")
        yield dg.MaterializeResult(
            data_version=dg.DataVersion(hashlib.sha256(json.dumps(
                [features_version, params, seed, test_size, code_version], sort_keys=True,
                default=str).encode()).hexdigest()[:32]),
            metadata={
                **{f"metric/{k}": float(v) for k, v in result.metrics.items()},
                "train_rows": result.train_rows,
                "test_rows": result.test_rows,
                "mlflow_run_id": tracked.run_id,
                "mlflow_experiment_id": tracked.experiment_id,
                "mlflow_model_uri": tracked.model_uri,
                "mlflow_tracking_uri": mlflow.resolved_tracking_uri(),
                "registered_model": spec.name,
                "registered_version": tracked.version or "",
                "params": dg.MetadataValue.json({k: str(v) for k, v in params.items()}),
            },
        )

    return _train
