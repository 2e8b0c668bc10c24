"""Every table is a Delta Lake table under one storage root, in one of two zones.

Layout under the root (a local folder, or an object-store URI such as ``s3://bucket/govern``)::

    restricted/raw/<source>          what ingest loaded: personal data
    restricted/quarantine/<table>    rejected lines and rows, raw text included
    published/redacted/<source>      the sources after their PII policy
    published/features/<table>       the feature tables

On a local root the ``restricted`` folder is mode 0700 and every file under it 0600, whatever
the umask: only the pipeline's user can read raw data. On an object store the zones are two
prefixes, for the bucket's access policy to tell apart.

A partitioned table (a source that arrives in batches) holds each batch's rows under its key in
the column ``_partition`` (also the Delta partition column): publishing one batch replaces only
the rows of that key (``predicate`` overwrite, Delta's replaceWhere), in one commit.

Publishing is one Delta commit (``write_deltalake(mode="overwrite")``): a reader holds a
snapshot, sees the previous version or the new one, never a half-written table; what was never
committed is never seen. Each commit records who wrote it (``custom_metadata``), and the
version it made is returned, for the asset's metadata and for time travel.

DuckDB stays the engine: ``connect`` gives an in-memory connection where each table is a view
``<schema>.<table>`` over the Delta table read as an Arrow dataset (the machine cannot install
DuckDB's ``delta`` extension, and the dataset is a fixed snapshot, which is what a reader
wants anyway).
"""

import os
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pds
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError
from pyarrow import fs

from pipeline.errors import GovernError
from pipeline.storage.sql import qualified, quote_ident

RESTRICTED = "restricted"
PUBLISHED = "published"
# Which zone each schema's tables live in: raw data and its quarantine apart from the rest.
ZONES = {"raw": RESTRICTED, "quarantine": RESTRICTED, "redacted": PUBLISHED, "features": PUBLISHED}
SCHEMAS = tuple(ZONES)
# A whole-table overwrite that lost a race to another writer of the same table is retried here,
# from the latest version: the last writer wins, as a rerun would. delta-rs's own retry must stay
# off (``max_commit_retries=0``): it re-commits the overwrite on top of the winner's version
# while removing only the files the loser had seen, so the table would hold both writers' rows
# (measured with deltalake 1.6.6: 5 of 15 four-writer races; delta-io/delta-rs#1254, #3622).
COMMIT_ATTEMPTS = 8
_PRIVATE_DIR, _PRIVATE_FILE = 0o700, 0o600
_COMMIT_TOKEN = "govern_commit"
# Recorded in the commit that undid a dead run's unrecorded commits: the run's id.
_ROLLED_BACK = "govern_rolled_back_run"
# The column holding each row's batch (partition key) in a partitioned table.
PARTITION_COLUMN = "_partition"

# What a publish takes: a table or frame held whole, or a function opening a fresh stream of
# record batches each time it is called (a commit that lost a race is retried from the start).
Data = pa.Table | pd.DataFrame | Callable[[], pa.RecordBatchReader]


class TableStoreError(GovernError):
    """A table cannot be read or written: names the table, its location and what to do."""


@dataclass(frozen=True)
class Snapshot:
    """One version of a published table, as an Arrow dataset pinned to that version."""

    name: str
    uri: str
    version: int
    dataset: pds.Dataset


@dataclass(frozen=True)
class Published:
    """What one publish committed."""

    name: str
    uri: str
    version: int


def arrow_dataset(delta: DeltaTable, uri: str) -> pds.Dataset:
    """The files of ``delta`` (at its loaded version) as an Arrow dataset; on a local root read
    by Arrow's own file system, not deltalake's default, which reads through Python.

    With that default, Parquet's read-ahead can still be in flight when a scan returns, holding
    a Python buffer; if the process is exiting when it lands, freeing the buffer needs the GIL
    and the process aborts ("terminate called without an active exception", exit 134, after
    its work is done: apache/arrow#36389, delta-io/delta-rs#2184). `govern erase`, which exits
    right after reading, did so in 6 of about 190 runs. An object store keeps deltalake's
    reader, which holds the store's credentials and options.
    """
    path = _local_path_of(uri)
    if path is None:
        return delta.to_pyarrow_dataset()
    return delta.to_pyarrow_dataset(filesystem=fs.SubTreeFileSystem(path, fs.LocalFileSystem()))


def split_name(name: str) -> tuple[str, str]:
    """``"raw.customers"`` -> ``("raw", "customers")``, for a known schema."""
    schema, _, table = name.partition(".")
    if schema not in ZONES or not table:
        raise TableStoreError(
            f"{name!r} is not a table name: expected <schema>.<table> with schema one of "
            f"{', '.join(SCHEMAS)}"
        )
    return schema, table


def _is_uri(root: str) -> bool:
    return "://" in root


def _local_path_of(location: str) -> str | None:
    """The folder a root or table location names on this machine: a path as it is, a file://
    URI decoded (``Path.as_uri`` writes a space as ``%20``); None for an object store."""
    if not _is_uri(location):
        return location
    if location.startswith("file://"):
        return url2pathname(urlparse(location).path)
    return None


@dataclass(frozen=True)
class TableStore:
    """The Delta tables under ``root`` (a local folder or an object-store URI)."""

    root: str

    @property
    def local(self) -> bool:
        return _local_path_of(self.root) is not None

    def _local_path(self, *parts: str) -> Path:
        return Path(_local_path_of(self.root), *parts)

    def uri(self, schema: str, table: str) -> str:
        zone = ZONES[schema]
        if not _is_uri(self.root):
            return str(self._local_path(zone, schema, table))
        return f"{self.root.rstrip('/')}/{zone}/{schema}/{table}"

    # -- reading -------------------------------------------------------------------------

    def exists(self, schema: str, table: str) -> bool:
        return DeltaTable.is_deltatable(self.uri(schema, table))

    def snapshot(self, schema: str, table: str, version: int | None = None) -> Snapshot:
        """The table at ``version`` (default: the latest), ready to register with DuckDB."""
        uri = self.uri(schema, table)
        if not self.exists(schema, table):
            raise TableStoreError(
                f"table {schema}.{table} has not been published: no Delta table at {uri}. "
                "Materialize the asset that writes it first (`govern run`)."
            )
        try:
            delta = DeltaTable(uri, version=version)
            return Snapshot(f"{schema}.{table}", uri, delta.version(), arrow_dataset(delta, uri))
        except DeltaError as exc:
            raise TableStoreError(
                f"table {schema}.{table} at {uri}"
                + (f", version {version}" if version is not None else "")
                + f" cannot be read: {str(exc).splitlines()[0]}. Check the version exists "
                "(`history`) and has not been vacuumed."
            ) from None

    def version(self, schema: str, table: str) -> int | None:
        """The latest committed version, or None if the table was never published."""
        if not self.exists(schema, table):
            return None
        return DeltaTable(self.uri(schema, table)).version()

    def published(self) -> list[str]:
        """``schema.table`` of every Delta table under the root."""
        names = []
        for schema in SCHEMAS:
            for table in self._children(ZONES[schema], schema):
                if self.exists(schema, table):
                    names.append(f"{schema}.{table}")
        return names

    def _children(self, zone: str, schema: str) -> list[str]:
        """The folder names under ``<root>/<zone>/<schema>``."""
        if self.local:
            folder = self._local_path(zone, schema)
            return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
        filesystem, base = fs.FileSystem.from_uri(f"{self.root.rstrip('/')}/{zone}/{schema}")
        infos = filesystem.get_file_info(fs.FileSelector(base, allow_not_found=True))
        return sorted(i.base_name for i in infos if i.type == fs.FileType.Directory)

    @contextmanager
    def connect(
        self,
        tables: Iterable[str] | None = None,
        versions: Mapping[str, int | None] | None = None,
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """An in-memory DuckDB connection with each table (default: every published one) as a
        view ``<schema>.<table>`` over its Delta table; ``versions`` pins some to a version."""
        versions = versions or {}
        names = list(tables) if tables is not None else self.published()
        with private_connection() as conn:
            for schema in (*SCHEMAS, "staging"):
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
            for name in names:
                schema, table = split_name(name)
                expose(conn, self.snapshot(schema, table, versions.get(name)))
            yield conn

    # -- writing -------------------------------------------------------------------------

    def publish(
        self,
        schema: str,
        table: str,
        data: Data,
        commit: Mapping[str, str] | None = None,
        partition: str | None = None,
    ) -> Published:
        """Replace ``schema.table`` with ``data`` in one Delta commit; returns its version.

        ``commit`` (who wrote it: the Dagster run, the asset) is recorded in the commit. With
        ``partition``, the rows are tagged with that key and replace only that key's rows.
        """
        uri = self.uri(schema, table)
        if ZONES[schema] == RESTRICTED:
            self.ensure_restricted()
        arrow = data if callable(data) else _arrow(data)
        if partition is not None:
            arrow = _tagged(arrow, partition)
        # A whole-table publish names no partition column: a table written by batches before
        # (its source declared partitioned then) becomes one whole table again in this commit.
        mode = _partition_write(partition) if partition is not None else {"partition_by": []}
        token = uuid.uuid4().hex
        properties = CommitProperties(
            custom_metadata={**(commit or {}), _COMMIT_TOKEN: token}, max_commit_retries=0
        )
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            try:
                write_deltalake(
                    uri,
                    arrow() if callable(arrow) else arrow,
                    mode="overwrite",
                    commit_properties=properties,
                    **{"schema_mode": "overwrite", **mode},
                )
                break
            except CommitFailedError:
                if attempt == COMMIT_ATTEMPTS:
                    raise TableStoreError(
                        f"table {schema}.{table} at {uri}: {COMMIT_ATTEMPTS} commits in a row "
                        "lost a race with other writers of the same table; it is unchanged. "
                        "Run the asset again."
                    ) from None
                time.sleep(random.uniform(0.05, 0.2) * attempt)
            except (DeltaError, OSError) as exc:
                raise TableStoreError(
                    f"table {schema}.{table} could not be written at {uri}: "
                    f"{str(exc).splitlines()[0]}. It is unchanged; check the storage root "
                    "(GOVERN_TABLES) is writable."
                ) from None
        if ZONES[schema] == RESTRICTED and self.local:
            _make_private(self._local_path(RESTRICTED, schema, table))
        return Published(f"{schema}.{table}", uri, self._committed_version(uri, token))

    def partitioned(self, schema: str, table: str) -> bool | None:
        """Whether the table is written by batches (``_partition``); None if never published."""
        if not self.exists(schema, table):
            return None
        return DeltaTable(self.uri(schema, table)).metadata().partition_columns == [
            PARTITION_COLUMN
        ]

    def reset_to_partitioned(
        self, schema: str, table: str, commit: Mapping[str, str] | None = None
    ) -> Published:
        """Replace a table written whole with an empty one partitioned by ``_partition``, its
        columns kept, in one commit (older versions stay readable by time travel). Each batch
        then publishes its own rows into it: never beside the rows of the whole-table layout."""
        uri = self.uri(schema, table)
        columns = DeltaTable(uri).to_pyarrow_dataset().schema
        if PARTITION_COLUMN not in columns.names:
            columns = columns.append(pa.field(PARTITION_COLUMN, pa.string()))
        token = uuid.uuid4().hex
        write_deltalake(
            uri,
            columns.empty_table(),
            mode="overwrite",
            schema_mode="overwrite",
            partition_by=[PARTITION_COLUMN],
            commit_properties=CommitProperties(
                custom_metadata={**(commit or {}), _COMMIT_TOKEN: token}
            ),
        )
        if ZONES[schema] == RESTRICTED and self.local:
            _make_private(self._local_path(RESTRICTED, schema, table))
        return Published(f"{schema}.{table}", uri, self._committed_version(uri, token))

    def ensure_restricted(self) -> None:
        """Create the restricted zone, mode 0700 on a local root (tightened if it exists)."""
        if not self.local:
            return
        folder = self._local_path(RESTRICTED)
        folder.mkdir(mode=_PRIVATE_DIR, parents=True, exist_ok=True)
        try:
            os.chmod(folder, _PRIVATE_DIR)
        except PermissionError:
            raise TableStoreError(
                f"the restricted zone {folder} belongs to another user and cannot be made "
                "private (mode 0700): give it to the pipeline's user, or set GOVERN_TABLES."
            ) from None

    def roll_back(self, name: str, run_id: str, recorded: set[int]) -> int | None:
        """Undo the commits a dead run made to ``name`` but never recorded; the version made.

        A run killed between a Delta commit and Dagster recording it (or between the two tables
        one asset publishes) leaves a commit no materialization names: readers of the latest
        version would see an asset half published, built from inputs its lineage never names.
        When such commits of ``run_id`` are the table's latest, the table is restored, in one
        commit, to the version before them. Nothing is undone under a later writer's commit,
        nor a table that run created (there is no version before it: the next run rebuilds it).
        """
        schema, table = split_name(name)
        uri = self.uri(schema, table)
        history = DeltaTable(uri).history(limit=100)  # newest first
        unrecorded = 0
        for entry in history:
            if entry.get("dagster_run_id") != run_id or int(entry["version"]) in recorded:
                break
            unrecorded += 1
        if unrecorded == 0 or unrecorded == len(history):
            return None
        target = int(history[unrecorded]["version"])
        properties = CommitProperties(custom_metadata={_ROLLED_BACK: run_id}, max_commit_retries=0)
        try:
            DeltaTable(uri).restore(target, commit_properties=properties)
        except CommitFailedError:
            return None  # another writer committed meanwhile: its version replaced the run's
        return DeltaTable(uri).version()

    @staticmethod
    def _committed_version(uri: str, token: str) -> int:
        """The version this process's commit made (others may have committed since)."""
        for entry in DeltaTable(uri).history(limit=100):
            if entry.get(_COMMIT_TOKEN) == token:
                return int(entry["version"])
        raise TableStoreError(f"the commit just made to {uri} is not in its history")


class VersionGone(TableStoreError):
    """A table version recorded earlier can no longer be read: its log entry or its data files
    were removed (a vacuum, an erasure, a table replaced), or the table itself is gone."""

    def __init__(self, name: str, uri: str, version: int, latest: int | None, cause: str):
        self.name, self.uri, self.version, self.latest, self.cause = (
            name,
            uri,
            version,
            latest,
            cause,
        )
        super().__init__(f"table {name} version {version} at {uri} cannot be read: {cause}")


def table_name_of(uri: str) -> str:
    """``schema.table`` of a table URI under a storage root (``.../<zone>/<schema>/<table>``)."""
    schema, table = uri.rstrip("/").split("/")[-2:]
    return f"{schema}.{table}"


def recorded_snapshot(uri: str, version: int) -> Snapshot:
    """The table at ``uri`` as it was at ``version`` (Delta time travel), checked readable.

    Loading an old version reads only the log; a vacuum may have removed its data files all
    the same, so every file of that version is opened (its row count, from the Parquet footers)
    before the snapshot is returned. Anything missing raises ``VersionGone``, naming why.
    """
    name = table_name_of(uri)
    latest = DeltaTable(uri).version() if DeltaTable.is_deltatable(uri) else None
    if latest is None:
        raise VersionGone(name, uri, version, None, "there is no Delta table there any more")
    if version > latest:
        raise VersionGone(
            name, uri, version, latest, f"its latest version is {latest}: the table was replaced"
        )
    try:
        delta = DeltaTable(uri, version=version)
        dataset = arrow_dataset(delta, uri)
        dataset.count_rows()
    except DeltaError:
        raise VersionGone(
            name,
            uri,
            version,
            latest,
            "its log entry was removed (the history before a later version was cleaned up)",
        ) from None
    except OSError:
        raise VersionGone(
            name, uri, version, latest, "its data files were removed (vacuumed)"
        ) from None
    return Snapshot(name, uri, version, dataset)


def expose(conn: duckdb.DuckDBPyConnection, snapshot: Snapshot) -> None:
    """Make ``snapshot`` readable on ``conn`` as the view ``<schema>.<table>``."""
    schema, table = split_name(snapshot.name)
    hidden = f"__delta__{schema}__{table}"
    conn.register(hidden, snapshot.dataset)
    conn.execute(
        f"CREATE OR REPLACE VIEW {qualified(schema, table)} AS SELECT * FROM {quote_ident(hidden)}"
    )


@contextmanager
def private_connection() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection that spills, if it must, to a folder only this user can
    read (mode 0700), removed on close: raw rows never land in a shared temporary folder."""
    scratch = tempfile.mkdtemp(prefix="govern-duckdb-")
    conn = duckdb.connect(config={"temp_directory": scratch})
    try:
        yield conn
    finally:
        conn.close()
        shutil.rmtree(scratch, ignore_errors=True)


def _partition_write(partition: str) -> dict:
    """``write_deltalake`` arguments replacing one partition's rows only. The key was checked
    against the batch-name pattern when declared; quotes are doubled all the same."""
    literal = partition.replace("'", "''")
    return {
        "predicate": f"{PARTITION_COLUMN} = '{literal}'",
        "partition_by": [PARTITION_COLUMN],
        "schema_mode": "merge",
    }


def _tagged(
    data: pa.Table | Callable[[], pa.RecordBatchReader], partition: str
) -> pa.Table | Callable[[], pa.RecordBatchReader]:
    """The rows with the column ``_partition`` set to ``partition`` (a table, or a stream)."""
    if not callable(data):
        column = pa.array([partition] * data.num_rows, pa.string())
        return data.append_column(pa.field(PARTITION_COLUMN, pa.string()), column)

    def stream() -> pa.RecordBatchReader:
        reader = data()
        schema = reader.schema.append(pa.field(PARTITION_COLUMN, pa.string()))
        batches = (
            pa.RecordBatch.from_arrays(
                [*batch.columns, pa.array([partition] * batch.num_rows, pa.string())],
                schema=schema,
            )
            for batch in reader
        )
        return pa.RecordBatchReader.from_batches(schema, batches)

    return stream


def _arrow(
    data: pa.Table | pd.DataFrame,
) -> pa.Table | Callable[[], pa.RecordBatchReader]:
    """Arrow for Delta. A frame is typed as DuckDB types it (the types a frame always got
    here) and streamed in record batches (``_frame_batches``); a column of nothing but NULLs,
    which has no Delta type, becomes text."""
    if isinstance(data, pd.DataFrame):
        return partial(_frame_batches, data)
    if any(pa.types.is_null(f.type) for f in data.schema):
        data = data.cast(_text_for_null(data.schema))
    return data


# Rows per record batch when a frame is streamed to Delta.
_FRAME_BATCH_ROWS = 256 * 1024


def _frame_batches(frame: pd.DataFrame) -> pa.RecordBatchReader:
    """The frame as a stream of Arrow record batches, converted by DuckDB one batch at a
    time: a large frame is never held a second time, whole, as an Arrow table (at 5 million
    transactions that copy was the step's peak)."""
    conn = duckdb.connect()
    conn.register("_frame", frame)
    reader = conn.sql("SELECT * FROM _frame").to_arrow_reader(_FRAME_BATCH_ROWS)
    schema = _text_for_null(reader.schema)

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for batch in reader:
                yield batch.cast(schema) if batch.schema != schema else batch
        finally:
            conn.close()

    return pa.RecordBatchReader.from_batches(schema, batches())


def _text_for_null(schema: pa.Schema) -> pa.Schema:
    """``schema`` with each column of Arrow's null type (all NULLs) typed as text instead."""
    return pa.schema(
        pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in schema
    )


def _make_private(table_dir: Path) -> None:
    """Folders 0700 and files 0600 under a restricted table, and its schema folder.

    Another writer of the same table may rename or remove its temporary commit file between
    the listing and its chmod: a file gone meanwhile is skipped (that writer makes its own
    files private when its commit is done)."""
    os.chmod(table_dir.parent, _PRIVATE_DIR)
    for folder, _dirs, files in os.walk(table_dir):
        with suppress(FileNotFoundError):
            os.chmod(folder, _PRIVATE_DIR)
        for name in files:
            with suppress(FileNotFoundError):
                os.chmod(os.path.join(folder, name), _PRIVATE_FILE)


# -- erasure -------------------------------------------------------------------------------
# Deleting rows from the latest version is not enough while older versions and the log's
# per-file statistics (min/max values) still hold them: ``erase_rows`` deletes, then vacuums
# with no retention and purges the log before the deletion, so no version before it can be
# read again.
_LOG_RETENTION = "delta.logRetentionDuration"
_DEFAULT_LOG_RETENTION = "interval 30 days"


@dataclass(frozen=True)
class Erased:
    """What ``erase_rows`` did to one table."""

    name: str
    rows_deleted: int
    version_before: int
    version_after: int
    files_removed: int


def erase_rows(store: TableStore, name: str, predicate: str, commit: Mapping[str, str]) -> Erased:
    """Delete the rows matching ``predicate`` (a Delta SQL predicate), then make every older
    version unreadable: vacuum with no retention, checkpoint, and drop the older log entries.

    Rerun on a table the rows are already gone from, it deletes nothing and still purges, so
    an erasure interrupted between the delete and the purge completes on a rerun.
    """
    schema, table = split_name(name)
    uri = store.uri(schema, table)
    try:
        delta = DeltaTable(uri)
        before = delta.version()
        metrics = delta.delete(
            predicate, commit_properties=CommitProperties(custom_metadata=commit)
        )
        removed = _purge_history(DeltaTable(uri))
    except (DeltaError, OSError) as exc:
        raise TableStoreError(
            f"table {name} at {uri}: the erasure could not complete "
            f"({str(exc).splitlines()[0]}); run the same erasure again to finish it"
        ) from None
    if ZONES[schema] == RESTRICTED and store.local:
        _make_private(store._local_path(RESTRICTED, schema, table))
    return Erased(
        name, int(metrics.get("num_deleted_rows", 0)), before, DeltaTable(uri).version(), removed
    )


def _purge_history(delta: DeltaTable) -> int:
    """Vacuum every file the latest version does not use and drop the log before it; the log
    retention is set back afterwards, so later versions keep their time travel."""
    removed = delta.vacuum(retention_hours=0, dry_run=False, enforce_retention_duration=False)
    previous = delta.metadata().configuration.get(_LOG_RETENTION) or _DEFAULT_LOG_RETENTION
    delta.alter.set_table_properties({_LOG_RETENTION: "interval 0 seconds"})
    delta = DeltaTable(delta.table_uri)
    delta.create_checkpoint()
    delta.cleanup_metadata()
    delta.alter.set_table_properties({_LOG_RETENTION: previous})
    return len(removed)


def table_files(store: TableStore, name: str) -> list[Path]:
    """Every file under a local table's folder (data files of any version, and the log)."""
    schema, table = split_name(name)
    folder = Path(store.uri(schema, table)) if store.local else None
    if folder is None or not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file())
