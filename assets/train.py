"""Model assets: train the declared estimator, gate it, log it to MLflow, register it.

The MLflow run is tagged with the Dagster run and the data and code version of every upstream
asset, the policy and contract hashes, the git commit and the lock file's hash. The model is
registered only if its evaluation gate passes.
"""

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import dagster as dg

from assets.validate import audited, gate_result
from pipeline.bom import build_bom
from pipeline.declarations import DatasetSpec
from pipeline.provenance import git_state, lock_sha256
from pipeline.resources import MlflowResource, Warehouse
from pipeline.runner import gate_outcome
from pipeline.tracking import log_bom, log_model, promote
from pipeline.training import train
from pipeline.warehouse import read_table


class TrainingConfig(dg.Config):
    seed: int | None = None
    """Seed for the split and the estimator; default from the dataset declaration."""
    test_size: float | None = None
    params: dict[str, Any] = {}
    """Hyperparameters, merged over the declaration's ``model.params``."""


def _plain(value: Any) -> Any:
    """A metadata value as JSON-ready data, or None for rich types (schemas, lineage)."""
    raw = getattr(value, "value", value)
    if isinstance(raw, str | int | float | bool | dict | list) or raw is None:
        return raw
    return None


def upstream_facts(instance: dg.DagsterInstance, keys: list[str]) -> dict[str, dict[str, Any]]:
    """Each upstream asset's latest materialization: versions, metadata and check results."""
    facts: dict[str, dict[str, Any]] = {}
    for key in keys:
        event = instance.get_latest_materialization_event(dg.AssetKey(key))
        if event is None or event.asset_materialization is None:
            facts[key] = {}
            continue
        materialization = event.asset_materialization
        tags = materialization.tags or {}
        checks = []
        for record in instance.all_logs(event.run_id,
                                        of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
            evaluation = record.dagster_event.event_specific_data
            if evaluation.asset_key != materialization.asset_key:
                continue
            checks.append(asdict(gate_outcome(evaluation)))
        facts[key] = {
            "data_version": tags.get("dagster/data_version"),
            "code_version": tags.get("dagster/code_version"),
            "run_id": event.run_id,
            "metadata": {k: v for k, v in ((k, _plain(v)) for k, v in
                                           materialization.metadata.items()) if v is not None},
            "checks": checks,
        }
    return facts


def version_tags(facts: dict[str, dict[str, Any]]) -> dict[str, str]:
    """MLflow tags with each upstream asset's data and code version."""
    tags = {}
    for key, fact in facts.items():
        tags[f"dagster.asset.{key}.data_version"] = fact.get("data_version") or "none"
        tags[f"dagster.asset.{key}.code_version"] = fact.get("code_version") or "none"
    return tags


def build_train_asset(dataset: DatasetSpec, root: Path, upstream_version: str,
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
    code_version = hashlib.sha256(
        f"{spec.model_dump_json()}:{upstream_version}".encode()).hexdigest()[:16]

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
        facts = upstream_facts(context.instance, upstream)
        versions = version_tags(facts)
        features_version = versions[f"dagster.asset.{features_name}.data_version"]
        code = {"requirements_lock_sha256": lock_sha256(root), **git_state(root)}
        tags = {
            "dagster.run_id": context.run.run_id,
            "dagster.job": context.run.job_name,
            "dagster.asset": spec.name,
            "govern.dataset": dataset.name,
            "govern.gate.evaluation": "passed" if passed else "blocked",
            **{f"govern.{k}": v for k, v in code.items()},
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
        tracking_uri = mlflow.resolved_tracking_uri()
        promotion = promote(tracking_uri, spec.name, tracked.version, spec.metric, metric,
                            spec.promotion_tolerance)
        bom = build_bom(
            dataset=dataset.name,
            model={"name": spec.name, "version": tracked.version, "mlflow_run_id": tracked.run_id,
                   "model_uri": tracked.model_uri, "estimator": spec.estimator,
                   "target": spec.target, "features": spec.features,
                   "params": {k: _plain(v) for k, v in params.items()}, "seed": seed,
                   "test_size": test_size, "metrics": result.metrics, "metric": spec.metric,
                   "evaluation_gate": summary, "alias": promotion.alias,
                   "promotion_reason": promotion.reason, "code_version": code_version},
            dagster_run={"run_id": context.run.run_id, "job": context.run.job_name},
            upstream=facts, sources=list(dataset.sources), features=features_name,
            declarations=declaration_hashes, code=code)
        log_bom(tracking_uri, tracked.run_id, bom)
        context.log.info(f"{spec.name}: registered version {tracked.version} ({summary}); "
                         f"{promotion.alias}: {promotion.reason}")
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
                "alias": promotion.alias,
                "promotion_reason": promotion.reason,
                "bom": dg.MetadataValue.path(f"{tracked.run_id}/bom.json"),
                "params": dg.MetadataValue.json({k: str(v) for k, v in params.items()}),
            },
        )

    return _train
