"""The dataset factory: one declaration in, a group of assets, checks and a job out.

Each asset's code version folds in the code versions of everything upstream of it, so a
change to a policy, a contract or the feature SQL marks every asset it shapes as stale in
Dagster, not only the one that reads the file.
"""

from pathlib import Path

import dagster as dg

from assets.features import build_features_asset, render_feature_sql
from assets.ingest import build_ingest_asset
from assets.redact import build_redact_asset
from assets.train import build_train_asset
from pipeline.contracts import load_suite
from pipeline.declarations import DatasetSpec
from pipeline.errors import DeclarationError
from pipeline.policy import file_hash, load_policy
from pipeline.schema import check_model_columns, feature_schema, redacted_schema


def _code_version(asset: dg.AssetsDefinition) -> str:
    return next(iter(asset.code_versions_by_key.values())) or ""


def build_dataset_definitions(dataset: DatasetSpec, root: Path) -> dg.Definitions:
    """Assets for every source (ingest, redact), the feature table and the model."""
    assets: list[dg.AssetsDefinition] = []
    declaration = root / "datasets" / f"{dataset.name}.yaml"
    hashes: dict[str, str] = {f"govern.dataset.{dataset.name}.sha256": file_hash(declaration)}
    schemas: dict[str, dict[str, str]] = {}
    raws: dict[str, dg.AssetsDefinition] = {}
    pending = []
    for source, source_spec in dataset.sources.items():
        policy_path = root / "policies" / f"{source}.yaml"
        suite_path = root / "expectations" / f"{source}.json"
        policy = load_policy(policy_path)
        policy.check_columns(list(source_spec.columns), str(policy_path))
        suite = load_suite(suite_path)
        suite.check_columns(policy.output_columns(), f"redacted_{source}")
        schemas[source] = redacted_schema(policy, source_spec)
        hashes[f"govern.policy.{source}.sha256"] = file_hash(policy_path)
        hashes[f"govern.contract.{source}.sha256"] = suite.content_hash
        for other, column in sorted(policy.names_from_other_sources()):
            if other == source or other not in dataset.sources or \
                    column not in dataset.sources[other].columns:
                raise DeclarationError(
                    f"{policy_path}: known_names_from: '{other}.{column}' is not a column of "
                    f"another source of dataset {dataset.name!r}")
        raws[source] = build_ingest_asset(dataset, source, root, policy.pii_columns())
        pending.append((source, policy, policy_path, suite))
    for source, policy, policy_path, suite in pending:
        readers = [source, *sorted({o for o, _ in policy.names_from_other_sources()})]
        assets += [raws[source], build_redact_asset(
            dataset, source, policy, policy_path, suite,
            upstream_version=":".join(_code_version(raws[r]) for r in readers))]
    features_suite = load_suite(root / "expectations" / f"{dataset.features.name}.json")
    columns = feature_schema(dataset, render_feature_sql(dataset), schemas)
    features_suite.check_columns(list(columns), dataset.features.name)
    check_model_columns(dataset, columns)
    hashes[f"govern.contract.{dataset.features.name}.sha256"] = features_suite.content_hash
    features = build_features_asset(dataset, features_suite, schemas, upstream_version=":".join(
        _code_version(a) for a in assets))
    assets += [features, build_train_asset(dataset, root, _code_version(features), hashes)]
    # Dagster compares each table's column schema with its previous materialization.
    schema_checks = dg.build_column_schema_change_checks(
        assets=[a for a in assets if a.key.to_user_string() != dataset.model.name],
        severity=dg.AssetCheckSeverity.WARN)
    job = dg.define_asset_job(
        f"{dataset.name}_job", selection=dg.AssetSelection.groups(dataset.name),
        description=f"Every asset of dataset '{dataset.name}', from raw files to the model.",
    )
    return dg.Definitions(assets=assets, asset_checks=schema_checks, jobs=[job])
