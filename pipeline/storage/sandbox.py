"""A DuckDB connection that holds the redacted tables and can reach nothing else.

The feature SQL is a declaration, not code we wrote: run on a connection to every table it
could read ``raw`` and ``quarantine``, read files and URLs, attach databases or copy rows
anywhere. So it runs on a fresh in-memory connection holding only the ``redacted.<source>``
tables it may read (empty at load time; at run time, views over the published Delta snapshots
registered as Arrow datasets), with external access disabled and the configuration locked: no
file or URL reads, no ``COPY``, ``ATTACH``, ``INSTALL``, ``LOAD`` of external extensions, Python
replacement scans or ``SET``.
This backs up the static check of ``pipeline.contracts.feature_sql``: a statement that slipped
past it still cannot touch anything outside the sandbox. Nothing is copied: the views read the
snapshots' Parquet files through Arrow.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import duckdb

from pipeline.storage.sql import qualified, quote_ident
from pipeline.storage.tables import Snapshot, expose

# Applied in this order; the last one makes every setting (these included) final.
LOCKDOWN = (
    "SET python_enable_replacements = false",
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
    "SET enable_external_access = false",
    "SET lock_configuration = true",
)


def lock(conn: duckdb.DuckDBPyConnection) -> None:
    """Disable external access and replacement scans, then lock the configuration."""
    for statement in LOCKDOWN:
        conn.execute(statement)


def _create_tables(
    conn: duckdb.DuckDBPyConnection, schemas: Mapping[str, Mapping[str, str]]
) -> None:
    """Empty ``redacted.<source>`` tables with these column names and DuckDB types."""
    conn.execute("CREATE SCHEMA redacted")
    for source, columns in schemas.items():
        body = ", ".join(f"{quote_ident(c)} {t}" for c, t in columns.items())
        conn.execute(f"CREATE TABLE {qualified('redacted', source)} ({body})")


@contextmanager
def empty_sandbox(
    schemas: Mapping[str, Mapping[str, str]],
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A locked connection with empty ``redacted.<source>`` tables of these schemas."""
    conn = duckdb.connect()
    try:
        _create_tables(conn, schemas)
        lock(conn)
        yield conn
    finally:
        conn.close()


def published_schema(snapshot: Snapshot) -> dict[str, str]:
    """Column name -> DuckDB type of a published table, as DuckDB reads its Arrow dataset."""
    with duckdb.connect() as conn:
        conn.register("_published", snapshot.dataset)
        return {r[0]: r[1] for r in conn.execute("DESCRIBE _published").fetchall()}


@contextmanager
def redacted_sandbox(snapshots: Mapping[str, Snapshot]) -> Iterator[duckdb.DuckDBPyConnection]:
    """A locked connection where ``redacted.<source>`` is that source's published snapshot.

    ``snapshots`` maps each source to its ``redacted.<source>`` Delta snapshot. The datasets
    are registered before the lock (scanning a registered Arrow dataset is no file access of
    DuckDB's, so it still works after), and nothing else is: no raw, quarantine or feature
    table is on this connection to be read.
    """
    for source, snapshot in snapshots.items():
        if snapshot.name != f"redacted.{source}":
            raise ValueError(f"the sandbox holds redacted tables only, not {snapshot.name}")
    conn = duckdb.connect()
    try:
        conn.execute("CREATE SCHEMA redacted")
        for snapshot in snapshots.values():
            expose(conn, snapshot)
        lock(conn)
        yield conn
    finally:
        conn.close()
