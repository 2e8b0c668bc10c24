"""The drift gate: the feature table against the champion's training profile, before training.

A model is trained on what the feature table holds today; if that has moved far from what the
champion was trained on, the new model answers a different question. The check profiles the
table (``training.profile``), compares it with the profile stored with the champion, and warns
or blocks on the PSI thresholds of the declaration's ``features.drift``. It is a blocking asset
check: when it blocks, Dagster does not run the model.
"""

import dagster as dg

from assets.resources import MlflowResource, Warehouse
from pipeline.declarations.dataset import DatasetSpec
from pipeline.storage.warehouse import read_table
from pipeline.training.profile import build_profile, compare_profiles, drift_verdict
from pipeline.training.tracking import champion_profile

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
    def _drift(warehouse: Warehouse, mlflow: MlflowResource) -> dg.AssetCheckResult:
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
        with warehouse.connect() as conn:
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
