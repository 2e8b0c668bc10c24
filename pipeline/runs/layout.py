"""A source switched between one file and a folder of batches keeps no mixed table.

A table written whole holds no ``_partition`` column; one written by batches is partitioned by
it. When a source's declaration switches from one file to ``partitioned: by_file`` on an existing
GOVERN_HOME, its tables (raw, redacted and their quarantines) are reset before the first batch
runs: one commit each, to an empty table partitioned by batch, which every batch then fills.
Rows of the whole-file layout are never left beside a batch's rows, and older versions stay
readable by time travel. The switch back needs no step of its own: a whole-table publish is a
full overwrite that drops the partitioning (``TableStore.publish``).
"""

from pipeline import settings
from pipeline.declarations.dataset import DatasetSpec
from pipeline.errors import GovernError
from pipeline.naming import redacted_asset
from pipeline.storage.tables import TableStore


def source_tables(source: str) -> list[tuple[str, str]]:
    """Every table one source's ingest and redaction publish."""
    return [
        ("raw", source),
        ("quarantine", source),
        ("redacted", source),
        ("quarantine", redacted_asset(source)),
    ]


def written_whole(store: TableStore, source: str) -> list[tuple[str, str]]:
    """The source's tables that exist and were written whole (before it arrived in batches)."""
    return [t for t in source_tables(source) if store.partitioned(*t) is False]


def prepare_partitioned_tables(dataset: DatasetSpec, every_partition: bool) -> list[str]:
    """Reset the batch source's tables still written whole; their names (none: nothing to do).

    Only a run of every partition may reset them: a run of some batches would leave a table
    holding those batches only. Anything else is refused with what to run instead.
    """
    source = dataset.partitioned_source
    if source is None:
        return []
    store = TableStore(settings.tables_root())
    whole = written_whole(store, source)
    if whole and not every_partition:
        names = ", ".join(f"{s}.{t}" for s, t in whole)
        raise GovernError(
            f"source {source!r} of dataset {dataset.name!r} is now declared partitioned, but "
            f"its tables {names} were written from one file: rebuild them from every batch "
            f"with `govern run --dataset {dataset.name}` or `govern backfill --dataset "
            f"{dataset.name}` (no --partition)"
        )
    commit = {"govern_layout": f"source {source} now arrives in batches: rebuilt per batch"}
    return [store.reset_to_partitioned(s, t, commit).name for s, t in whole]
