"""A DuckDB connection that holds the redacted tables and can reach nothing else.

The feature SQL is a declaration, not code we wrote: run on the warehouse connection it could
read ``raw``, ``staging`` and ``quarantine``, read files and URLs, attach databases or copy
rows anywhere. So it runs on a fresh in-memory connection holding only the ``redacted.<source>``
tables it may read (empty at load time, copies of the published tables at run time), with
external access disabled and the configuration locked: no file or URL reads, no ``COPY``,
``ATTACH``, ``INSTALL``, ``LOAD`` of external extensions, Python replacement scans or ``SET``.
This backs up the static check of ``pipeline.contracts.feature_sql``: a statement that slipped
past it still cannot touch anything outside the sandbox. The copies are held in memory.
"""

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

import duckdb

from pipeline.storage.sql import qualified, quote_ident

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


def published_schema(warehouse: duckdb.DuckDBPyConnection, source: str) -> dict[str, str]:
    """Column name -> DuckDB type of the published ``redacted.<source>``."""
    rows = warehouse.execute(f"DESCRIBE {qualified('redacted', source)}").fetchall()
    return {row[0]: row[1] for row in rows}


def _copy_rows(
    warehouse: duckdb.DuckDBPyConnection, conn: duckdb.DuckDBPyConnection, source: str
) -> None:
    """Stream the published table's rows into the sandbox's table of the same types."""
    table = qualified("redacted", source)
    reader = warehouse.sql(f"SELECT * FROM {table}").to_arrow_reader()
    conn.register("_published", reader)
    try:
        # Inserting into the typed table casts back what Arrow widens (UUID, HUGEINT, ENUM).
        conn.execute(f"INSERT INTO {table} SELECT * FROM _published")
    finally:
        conn.unregister("_published")


@contextmanager
def redacted_sandbox(
    warehouse: duckdb.DuckDBPyConnection, sources: Iterable[str]
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A locked connection with copies of the warehouse's published ``redacted.<source>``."""
    sources = list(sources)
    conn = duckdb.connect()
    try:
        _create_tables(conn, {s: published_schema(warehouse, s) for s in sources})
        for source in sources:
            _copy_rows(warehouse, conn, source)
        lock(conn)
        yield conn
    finally:
        conn.close()
