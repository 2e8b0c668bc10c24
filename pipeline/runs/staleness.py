"""What a run must redo, as Dagster computes it: like ``dvc repro``, only what changed.

Each landing file is an external asset (``landing_<source>``) upstream of its ingest asset:
something outside the pipeline lands it. Before a run, the file's sha256 is reported to the
instance as a materialization of that asset with the sha256 as its data version, whenever it
differs from the last one reported. Dagster then knows, for every asset of the dataset, whether
it is fresh, stale (its code version changed, or an upstream data version changed since it was
materialized, or an upstream asset is itself stale) or missing: the status the UI shows and its
"Materialize stale" button uses. A run selects only the stale and missing assets; an unchanged
rerun selects nothing, so no model version is registered.

A source that arrives in batches (``partitioned: by_file``) has a partitioned landing asset: each
batch file's sha256 is reported as the data version of its own partition, and a new or changed
file makes only its partition of the ingest and redaction assets stale (``stale_partitions``).
Dagster's resolver reports a new partition as missing and a code change as stale, but it reads
a changed partition of an external asset from observations while execution records
materializations (dagster 1.13, ``data_version_cache``: "this needs to account for
observations also"), so it does not see a batch file changed in place; that one is found by
comparing the file's sha256 with the one its ingest partition recorded.
"""

from pathlib import Path

import dagster as dg
from dagster._core.asset_graph_view.asset_graph_view import AssetGraphView, TemporalContext
from dagster._core.definitions.data_version import (
    DATA_VERSION_TAG,
    CachingStaleStatusResolver,
    StaleStatus,
    extract_data_version_from_entry,
)
from dagster._time import get_current_datetime

from pipeline.declarations.dataset import DatasetSpec
from pipeline.ingest.reader import file_sha256
from pipeline.naming import landing_asset


def observe_landing_files(
    instance: dg.DagsterInstance, dataset: DatasetSpec, paths: dict[str, Path], root: Path
) -> None:
    """Report each landing file's sha256 as its asset's data version, when it changed (an
    external asset's materialization, as Dagster documents for data landed by others); for a
    batch source, each batch file's as its partition's.

    A file that cannot be read is not reported: the ingest asset will fail on it and say why.
    """
    for source, spec in dataset.sources.items():
        key = dg.AssetKey(landing_asset(source))
        if spec.partitioned:
            for partition, path in spec.batch_files(root).items():
                _observe(instance, key, path, partition)
            continue
        path = Path(paths.get(source) or root / spec.path)
        if path.is_file():
            _observe(instance, key, path, None)


def _observe(
    instance: dg.DagsterInstance, key: dg.AssetKey, path: Path, partition: str | None
) -> None:
    version = file_sha256(path)
    if _last_version(instance, key, partition) == version:
        return
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key=key,
            partition=partition,
            tags={DATA_VERSION_TAG: version},
            metadata={"path": str(path.resolve()), "sha256": version},
        )
    )


def _last_version(
    instance: dg.DagsterInstance, key: dg.AssetKey, partition: str | None = None
) -> str | None:
    record = instance.get_latest_data_version_record(key, is_source=False, partition_key=partition)
    if record is None:
        return None
    version = extract_data_version_from_entry(record.event_log_entry)
    return version.value if version else None


def _resolver(defs: dg.Definitions, instance: dg.DagsterInstance) -> CachingStaleStatusResolver:
    graph = defs.resolve_asset_graph()
    view = AssetGraphView(
        temporal_context=TemporalContext(effective_dt=get_current_datetime(), last_event_id=None),
        instance=instance,
        asset_graph=graph,
    )
    return CachingStaleStatusResolver(instance, graph, loading_context=view)


_TO_RUN = (StaleStatus.STALE, StaleStatus.MISSING)


def stale_partitions(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    keys: list[dg.AssetKey],
    batches: dict[str, Path],
    ingest: dg.AssetKey,
) -> list[str]:
    """The batches in which any of the partitioned ``keys`` is stale or never materialized (a
    new batch file, or a code, policy or contract change, which makes every partition stale),
    or whose file is not the one its ``ingest`` partition last read. An unchanged batch is not
    among them."""
    resolver = _resolver(defs, instance)
    return [
        partition
        for partition, path in batches.items()
        if any(resolver.get_status(k, partition) in _TO_RUN for k in keys)
        or _ingested_sha256(instance, ingest, partition) != file_sha256(path)
    ]


def _ingested_sha256(instance: dg.DagsterInstance, key: dg.AssetKey, partition: str) -> str | None:
    """The sha256 of the file the latest materialization of ``key``'s partition read."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1
    ).records
    if not records or records[0].asset_materialization is None:
        return None
    value = records[0].asset_materialization.metadata.get("source_sha256")
    return getattr(value, "value", value)


def assets_to_run(
    defs: dg.Definitions, instance: dg.DagsterInstance, keys: list[dg.AssetKey]
) -> list[dg.AssetKey]:
    """Of ``keys`` (unpartitioned), those Dagster reports as stale or never materialized, and
    everything downstream of them: Dagster calls an asset stale once its upstream has a newer
    version, not while the upstream is itself waiting to be rebuilt, and this run will
    rebuild it."""
    graph = defs.resolve_asset_graph()
    resolver = _resolver(defs, instance)
    stale = [k for k in keys if resolver.get_status(k) in _TO_RUN]
    if not stale:
        return []
    affected = dg.AssetSelection.assets(*stale).downstream().resolve(graph)
    return [k for k in keys if k in affected]
