"""Model assets: train the declared estimator, gate it, log it to MLflow, register it.

The MLflow run is tagged with the Dagster run and the data and code version of every upstream
asset, the policy and contract hashes, the git commit and the lock file's hash. The model is
registered only if its evaluation gate passes; the training BOM is logged beside it.
"""

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
import pandas as pd

from assets.checks import audited, gate_result
from assets.drift import drift_refusal
from assets.evidence import upstream_facts
from assets.openlineage import LineageSpec, OpenLineageResource, emits_openlineage, tables
from assets.resources import MlflowResource, Warehouse
from assets.run_inputs import upstream_table_version
from pipeline import settings as app_settings
from pipeline.declarations.dataset import DatasetSpec, ModelSpec
from pipeline.lineage.openlineage import model_dataset
from pipeline.lineage.provenance import code_state
from pipeline.naming import source_assets
from pipeline.storage.warehouse import read_table

# scikit-learn, MLflow and SciPy load in the step that trains, not with the definitions (which
# every Dagster process loads: the code server, the daemon, each run's steps).
if TYPE_CHECKING:
    from pipeline.training.model import EvaluationVerdict, TrainingResult, TrainingSettings
    from pipeline.training.promotion import Promotion
    from pipeline.training.tracking import TrackedModel


class TrainingConfig(dg.Config):
    seed: int | None = None
    """Seed for the split and the estimator; default from the dataset declaration."""
    test_size: float | None = None
    params: dict[str, Any] = {}
    """Hyperparameters, merged over the declaration's ``model.params``."""


def _materialization(
    tracked: "TrackedModel",
    result: "TrainingResult",
    settings: "TrainingSettings",
    promotion: "Promotion",
    tracking_uri: str,
) -> dict[str, Any]:
    return {
        **{f"metric/{k}": float(v) for k, v in result.metrics.items()},
        "train_rows": result.train_rows,
        "test_rows": result.test_rows,
        "mlflow_run_id": tracked.run_id,
        "mlflow_experiment_id": tracked.experiment_id,
        "mlflow_model_uri": tracked.model_uri,
        "mlflow_tracking_uri": app_settings.without_password(tracking_uri),
        "registered_model": tracked.registered_name or "",
        "registered_version": tracked.version or "",
        "alias": promotion.alias,
        "promotion_reason": promotion.reason,
        "bom": dg.MetadataValue.path(f"{tracked.run_id}/bom.json"),
        "params": dg.MetadataValue.json({k: str(v) for k, v in settings.params.items()}),
        **_mlflow_links(tracked),
    }


def _mlflow_links(tracked: "TrackedModel") -> dict[str, dg.MetadataValue]:
    """Clickable links to the MLflow UI: the run, and the registered version if any."""
    base = app_settings.mlflow_ui_url()
    links = {
        "mlflow_run_url": dg.MetadataValue.url(
            f"{base}/#/experiments/{tracked.experiment_id}/runs/{tracked.run_id}"
        )
    }
    if tracked.registered_name and tracked.version:
        links["mlflow_model_version_url"] = dg.MetadataValue.url(
            f"{base}/#/models/{tracked.registered_name}/versions/{tracked.version}"
        )
    return links


def _gate_result(verdict: "EvaluationVerdict", tracked: "TrackedModel") -> dg.AssetCheckResult:
    return gate_result(
        "evaluation_gate",
        verdict.passed,
        verdict.summary,
        {
            "metric": verdict.metric,
            "value": verdict.value,
            "threshold": verdict.threshold,
            "mlflow_run_id": tracked.run_id,
        },
    )


def _log_profile(tracking_uri: str, run_id: str, frame: pd.DataFrame, spec: ModelSpec) -> str:
    """Store the training set's reference profile with the run; its hash goes in the BOM."""
    from pipeline.training.profile import build_profile, profile_sha256
    from pipeline.training.tracking import log_profile

    profile = build_profile(frame, spec)
    log_profile(tracking_uri, run_id, profile)
    return profile_sha256(profile)


def build_train_asset(
    dataset: DatasetSpec, root: Path, upstream_version: str, declaration_hashes: dict[str, str]
) -> dg.AssetsDefinition:
    spec = dataset.model
    features_name = dataset.features.name
    upstream = [*source_assets(list(dataset.sources)), features_name]
    check_specs = [
        dg.AssetCheckSpec(
            "evaluation_gate",
            asset=spec.name,
            blocking=True,
            description=f"Held-out {spec.metric} must be at least {spec.min_metric}; below it "
            "the model is logged but not registered.",
        )
    ]
    code_version = hashlib.sha256(
        f"{spec.model_dump_json()}:{upstream_version}".encode()
    ).hexdigest()[:16]

    def log_run(
        context: dg.AssetExecutionContext,
        mlflow: MlflowResource,
        frame: pd.DataFrame,
        result: "TrainingResult",
        settings: "TrainingSettings",
        passed: bool,
        code: dict[str, str],
    ) -> tuple["TrackedModel", dict[str, Any]]:
        """Log the model with its tags; the upstream facts are returned for the BOM."""
        from pipeline.training.tracking import log_model, model_tags, version_tag, version_tags

        facts = upstream_facts(context.instance, upstream, context.run.run_id)
        versions = version_tags(facts)
        tags = model_tags(
            dagster_run={"run_id": context.run.run_id, "job": context.run.job_name},
            model=spec.name,
            dataset=dataset.name,
            gate_passed=passed,
            code=code,
            declaration_hashes=declaration_hashes,
            versions=versions,
        )
        tracked = log_model(
            tracking_uri=mlflow.resolved_tracking_uri(),
            artifact_root=mlflow.resolved_artifact_root(),
            experiment=mlflow.experiment,
            model_name=spec.name,
            result=result,
            training_frame=frame,
            training_dataset_name=features_name,
            training_digest=versions[version_tag(features_name, "data")],
            params={
                **result.params,
                "seed": settings.seed,
                "test_size": settings.test_size,
                "estimator": spec.estimator,
            },
            tags=tags,
            register=passed,
        )
        return tracked, facts

    @dg.asset(
        name=spec.name,
        group_name=dataset.name,
        deps=[features_name],
        check_specs=check_specs,
        code_version=code_version,
        kinds={"scikitlearn", "mlflow"},
        description=f"`{spec.estimator}` predicting `{spec.target}` from `{features_name}`, "
        "logged to MLflow and registered if it passes its evaluation gate.",
        metadata={
            "estimator": spec.estimator,
            "target": spec.target,
            "features": dg.MetadataValue.json(spec.features),
        },
    )
    @emits_openlineage(
        dataset.name,
        LineageSpec(
            spec.name,
            inputs=tables({features_name: f"features.{features_name}"}),
            outputs=lambda call: {
                spec.name: model_dataset(call["mlflow"].resolved_tracking_uri(), spec.name)
            },
        ),
    )
    def _train(
        context: dg.AssetExecutionContext,
        config: TrainingConfig,
        warehouse: Warehouse,
        mlflow: MlflowResource,
        openlineage: OpenLineageResource,
    ):
        from pipeline.lineage.bom import build_bom, model_record
        from pipeline.training.model import TrainingSettings, evaluate, model_data_version, train
        from pipeline.training.promotion import promote
        from pipeline.training.tracking import log_bom

        refusal = drift_refusal(context.instance, dataset, context.run.run_id)
        if refusal:
            raise dg.Failure(f"{spec.name} not trained: {refusal}")
        # The feature table this run published (never a concurrent run's), at its version.
        table = f"features.{features_name}"
        version = upstream_table_version(context.instance, context.run.run_id, features_name)
        with warehouse.connect(table, versions={table: version}) as conn:
            frame = read_table(conn, "features", features_name)
        settings = TrainingSettings.resolve(spec, config.seed, config.test_size, config.params)
        result = train(frame, spec, settings.params, settings.seed, settings.test_size)
        verdict = evaluate(result, spec)
        code = code_state(root)
        tracked, facts = log_run(context, mlflow, frame, result, settings, verdict.passed, code)
        yield from audited(spec.name, check_specs, [_gate_result(verdict, tracked)])
        tracking_uri = mlflow.resolved_tracking_uri()
        promotion = promote(
            tracking_uri,
            spec.name,
            tracked.version,
            spec.metric,
            verdict.value,
            spec.promotion_tolerance,
        )
        bom = build_bom(
            dataset=dataset.name,
            model=model_record(spec, tracked, settings, result, verdict, promotion, code_version),
            dagster_run={"run_id": context.run.run_id, "job": context.run.job_name},
            upstream=facts,
            sources=list(dataset.sources),
            features=features_name,
            declarations=declaration_hashes,
            code=code,
            profile_sha256=_log_profile(tracking_uri, tracked.run_id, frame, spec),
        )
        log_bom(tracking_uri, tracked.run_id, bom)
        context.log.info(
            f"{spec.name}: registered version {tracked.version} ({verdict.summary}); "
            f"{promotion.alias}: {promotion.reason}"
        )
        features_version = facts[features_name].get("data_version") or "none"
        yield dg.MaterializeResult(
            data_version=dg.DataVersion(
                model_data_version(features_version, settings, code_version)
            ),
            metadata=_materialization(tracked, result, settings, promotion, tracking_uri),
        )

    return _train
