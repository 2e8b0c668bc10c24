"""The dataset factory: one declaration in, a group of assets, checks and a job out.

Each asset's code version folds in the code versions of everything upstream of it, so a
change to a policy, a contract or the feature SQL marks every asset it shapes as stale in
Dagster, not only the one that reads the file.
"""

from pathlib import Path

import dagster as dg

from assets.drift import build_drift_check
from assets.features import build_features_asset
from assets.ingest import build_ingest_asset
from assets.redact import build_redact_asset
from assets.train import build_train_asset
from pipeline.contracts.dataset import load_contracts
from pipeline.declarations.dataset import DatasetSpec
from pipeline.naming import display_path, job_name, landing_asset


def _code_version(asset: dg.AssetsDefinition) -> str:
    return next(iter(asset.code_versions_by_key.values())) or ""


def build_dataset_definitions(dataset: DatasetSpec, root: Path) -> dg.Definitions:
    """Assets for every source (ingest, redact), the feature table and the model."""
    contracts = load_contracts(dataset, root)
    batches = batch_partitions(dataset, root)
    partitions = {s: batches if s == dataset.partitioned_source else None for s in dataset.sources}
    raws = {
        source: build_ingest_asset(
            dataset, source, root, loaded.policy.pii_columns(), partitions[source]
        )
        for source, loaded in contracts.sources.items()
    }
    assets: list[dg.AssetsDefinition] = []
    for source, loaded in contracts.sources.items():
        readers = [source, *loaded.name_sources()]
        upstream = ":".join(_code_version(raws[r]) for r in readers)
        redact = build_redact_asset(dataset, source, loaded, upstream, partitions[source])
        assets += [raws[source], redact]
    features = build_features_asset(
        contracts, upstream_version=":".join(_code_version(a) for a in assets)
    )
    assets += [
        features,
        build_train_asset(dataset, root, _code_version(features), contracts.hashes),
    ]
    schema_checks = _schema_change_checks(
        dataset.name, [a for a in assets if a.key.to_user_string() != dataset.model.name]
    )
    job = dg.define_asset_job(
        job_name(dataset.name),
        selection=dg.AssetSelection.groups(dataset.name),
        description=f"Every asset of dataset '{dataset.name}', from raw files to the model.",
    )
    return dg.Definitions(
        assets=[*_landing_specs(dataset, root, batches), *assets],
        asset_checks=[*schema_checks, build_drift_check(dataset)],
        jobs=[job],
    )


def _schema_change_checks(
    dataset: str, assets: list[dg.AssetsDefinition]
) -> list[dg.AssetChecksDefinition]:
    """Dagster's own check that each table's column schema matches its previous
    materialization, in a step named for the dataset: Dagster names it
    ``asset_check_<hash>``, which tells a person in the run view nothing."""
    checks = dg.build_column_schema_change_checks(
        assets=assets, severity=dg.AssetCheckSeverity.WARN
    )
    return [
        dg.AssetChecksDefinition.create(
            keys_by_input_name=check.keys_by_input_name,
            node_def=check.op.with_replaced_properties(name=f"{dataset}_column_schema_change"),
            check_specs_by_output_name=check.check_specs_by_output_name,
            can_subset=True,
        )
        for check in checks
    ]


def batch_partitions(dataset: DatasetSpec, root: Path) -> dg.StaticPartitionsDefinition | None:
    """The partitions of the dataset's batch source: one per file in its folder, keyed by the
    file name, read when the code location loads (``SourceSpec`` says why static). Ingest and
    redaction of that source run per partition; the feature table and the model, which are not
    partitioned, read every partition (Dagster maps an unpartitioned asset onto all partitions
    of its upstream)."""
    source = dataset.partitioned_source
    if source is None:
        return None
    return dg.StaticPartitionsDefinition(list(dataset.sources[source].batch_files(root)))


def _landing_specs(
    dataset: DatasetSpec, root: Path, batches: dg.PartitionsDefinition | None
) -> list[dg.AssetSpec]:
    """The landing files, as external assets: Dagster does not make them, it observes them
    (``pipeline.runs.staleness``), so a changed file marks everything downstream stale. A batch
    folder is partitioned like its ingest asset: a changed batch marks only its partition."""
    return [
        dg.AssetSpec(
            landing_asset(source),
            group_name=dataset.name,
            kinds={"file"},
            partitions_def=batches if spec.partitioned else None,
            description=f"Landing file of source '{source}' (`{spec.path}` unless a run "
            "names another); its data version is the file's sha256.",
            metadata={"path": display_path(root / spec.path, root)},
        )
        for source, spec in dataset.sources.items()
    ]
