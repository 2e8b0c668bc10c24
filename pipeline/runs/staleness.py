"""What a run must redo, as Dagster computes it: like ``dvc repro``, only what changed.

Each landing file is an external asset (``landing_<source>``) upstream of its ingest asset:
something outside the pipeline lands it. Before a run, the file's sha256 is reported to the
instance as a materialization of that asset with the sha256 as its data version, whenever it
differs from the last one reported. Dagster then knows, for every asset of the dataset, whether
it is fresh, stale (its code version changed, or an upstream data version changed since it was
materialized, or an upstream asset is itself stale) or missing: the status the UI shows and its
"Materialize stale" button uses. A run selects only the stale and missing assets; an unchanged
rerun selects nothing, so no model version is registered.
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
    external asset's materialization, as Dagster documents for data landed by others).

    A file that cannot be read is not reported: the ingest asset will fail on it and say why.
    """
    for source, spec in dataset.sources.items():
        path = Path(paths.get(source) or root / spec.path)
        if not path.is_file():
            continue
        version = file_sha256(path)
        key = dg.AssetKey(landing_asset(source))
        if _last_version(instance, key) == version:
            continue
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                asset_key=key,
                tags={DATA_VERSION_TAG: version},
                metadata={"path": str(path.resolve()), "sha256": version},
            )
        )


def _last_version(instance: dg.DagsterInstance, key: dg.AssetKey) -> str | None:
    record = instance.get_latest_data_version_record(key, is_source=False)
    if record is None:
        return None
    version = extract_data_version_from_entry(record.event_log_entry)
    return version.value if version else None


def assets_to_run(
    defs: dg.Definitions, instance: dg.DagsterInstance, keys: list[dg.AssetKey]
) -> list[dg.AssetKey]:
    """Of ``keys``, those Dagster reports as stale or never materialized, and everything
    downstream of them: Dagster calls an asset stale once its upstream has a newer version,
    not while the upstream is itself waiting to be rebuilt, and this run will rebuild it."""
    graph = defs.resolve_asset_graph()
    view = AssetGraphView(
        temporal_context=TemporalContext(effective_dt=get_current_datetime(), last_event_id=None),
        instance=instance,
        asset_graph=graph,
    )
    resolver = CachingStaleStatusResolver(instance, graph, loading_context=view)
    stale = [k for k in keys if resolver.get_status(k) in (StaleStatus.STALE, StaleStatus.MISSING)]
    if not stale:
        return []
    affected = dg.AssetSelection.assets(*stale).downstream().resolve(graph)
    return [k for k in keys if k in affected]
