"""The drift gate: the feature table against the champion's training profile, before training.

A model is trained on what the feature table holds today; if that has moved far from what the
champion was trained on, the new model answers a different question. The check profiles the
table (``training.profile``), compares it with the profile stored with the champion, and warns
or blocks on the PSI thresholds of the declaration's ``features.drift``. It is a blocking asset
check: when it blocks, Dagster does not run the model.
"""

import dagster as dg

from assets.evidence import metadata_value
from assets.openlineage import LineageSpec, OpenLineageResource, emits_openlineage, tables
from assets.resources import MlflowResource, Warehouse
from assets.run_inputs import materialized_in_run, upstream_table_version
from pipeline.declarations.dataset import DatasetSpec
from pipeline.storage.warehouse import read_table

_SEVERITY = {"warn": dg.AssetCheckSeverity.WARN, "block": dg.AssetCheckSeverity.ERROR}


def build_drift_check(dataset: DatasetSpec) -> dg.AssetChecksDefinition:
    features, spec, limits = dataset.features.name, dataset.model, dataset.features.drift

    @dg.asset_check(
        asset=features,
        name="drift",
        blocking=True,
        description=f"PSI of each feature of `{spec.name}` against the champion's training "
        f"profile: warn above {limits.warn_psi}, block training above {limits.block_psi}.",
    )
    @emits_openlineage(
        dataset.name,
        LineageSpec(
            features,
            inputs=tables({features: f"features.{features}"}),
            job_name=f"{features}.drift",
            job_type="ASSET_CHECK",
            checks_on_input=True,
        ),
    )
    def _drift(
        context: dg.AssetCheckExecutionContext,
        warehouse: Warehouse,
        mlflow: MlflowResource,
        openlineage: OpenLineageResource,
    ) -> dg.AssetCheckResult:
        # MLflow and SciPy load in the step that checks drift, not with the definitions.
        from pipeline.training.profile import build_profile, compare_profiles, drift_verdict
        from pipeline.training.tracking import champion_profile

        reference = champion_profile(mlflow.resolved_tracking_uri(), spec.name)
        if reference is None:
            return dg.AssetCheckResult(
                passed=True,
                metadata={
                    "summary": f"no champion of {spec.name} with a profile yet: nothing "
                    "to compare with"
                },
            )
        version, profile = reference
        # The feature table this run published (never a concurrent run's), at its version.
        table = f"features.{features}"
        version = upstream_table_version(context.instance, context.run.run_id, features)
        with warehouse.connect(table, versions={table: version}) as conn:
            frame = read_table(conn, "features", features)
        verdict = drift_verdict(
            compare_profiles(profile, build_profile(frame, spec)),
            limits.warn_psi,
            limits.block_psi,
        )
        return dg.AssetCheckResult(
            passed=verdict.level == "pass",
            severity=_SEVERITY.get(verdict.level, dg.AssetCheckSeverity.WARN),
            metadata={
                "summary": f"against champion v{version}: {verdict.summary}",
                "champion_version": version,
                "warn_psi": limits.warn_psi,
                "block_psi": limits.block_psi if limits.block_psi is not None else "off",
                "top_drifting_features": dg.MetadataValue.json([d.as_dict() for d in verdict.top]),
            },
        )

    return _drift


def drift_refusal(instance: dg.DagsterInstance, dataset: DatasetSpec, run_id: str) -> str | None:
    """Why the model must not train on the feature table as it stands, or None.

    The drift check runs after the table is published: a later run that finds the table up to
    date would train on it without asking again. So the model asks: if the last drift check
    evaluated the table's current materialization, its recorded scores are judged against the
    declaration's ``block_psi`` as it is now (raising it, or setting it to null, accepts the
    new data without rebuilding the table).
    """
    if materialized_in_run(instance, run_id, dataset.features.name):
        return None  # this run's own drift check judged its table, and Dagster heeds it
    features = dg.AssetKey(dataset.features.name)
    record = instance.get_latest_asset_check_evaluation_record(dg.AssetCheckKey(features, "drift"))
    evaluation = record.evaluation if record else None
    latest = instance.get_latest_materialization_event(features)
    if evaluation is None or latest is None or latest.run_id != record.run_id:
        return None
    block_psi = dataset.features.drift.block_psi
    top = metadata_value(evaluation.metadata.get("top_drifting_features")) or []
    if block_psi is None or not top or top[0]["psi"] <= block_psi:
        return None
    summary = metadata_value(evaluation.metadata.get("summary"))
    return (
        f"the drift gate on {features.to_user_string()} blocked its current data ({summary}); "
        f"rebuild the features from other data, or accept this data by raising "
        f"features.drift.block_psi in the dataset declaration (null: warn only)"
    )
