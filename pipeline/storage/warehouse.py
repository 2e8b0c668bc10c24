"""The DuckDB warehouse: schemas per stage, staging tables, and an atomic publish.

Layout: ``raw.<source>`` and ``quarantine.<source>`` (ingest), ``redacted.<source>`` and
``quarantine.redacted_<source>``, ``features.<table>`` and ``quarantine.<table>``; ``staging``
holds what an asset wrote but has not yet passed its gates.
Publishing swaps a staging table into place in one transaction, so readers see either the old
published table or the new one, never a table that failed its audit.
"""

import hashlib
import re
from collections.abc import Iterable

import duckdb
import pandas as pd

from pipeline.storage.sql import qualified

SCHEMAS = ("raw", "quarantine", "redacted", "features", "staging")
# ``{source}`` in a dataset's feature SQL: the source's published redacted table.
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


def ensure_schemas(conn: duckdb.DuckDBPyConnection) -> None:
    for schema in SCHEMAS:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")


def staging_name(schema: str, table: str) -> str:
    return qualified("staging", f"{schema}__{table}")


def publish(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> None:
    """Replace ``schema.table`` with its staging copy, atomically."""
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(
            f"CREATE OR REPLACE TABLE {qualified(schema, table)} AS "
            f"SELECT * FROM {staging_name(schema, table)}"
        )
        conn.execute(f"DROP TABLE {staging_name(schema, table)}")
        conn.execute("COMMIT")
    except duckdb.Error:
        conn.execute("ROLLBACK")
        raise


def write_staging(
    conn: duckdb.DuckDBPyConnection, frame: pd.DataFrame, schema: str, table: str
) -> None:
    conn.register("_frame", frame)
    try:
        conn.execute(
            f"CREATE OR REPLACE TABLE {staging_name(schema, table)} AS SELECT * FROM _frame"
        )
    finally:
        conn.unregister("_frame")


def stage_quarantine(conn: duckdb.DuckDBPyConnection, rows: pd.DataFrame, stage: str) -> None:
    """Stage the rows a stage's gates rejected as ``quarantine.<stage>`` (published with the
    stage's output, never readable as it): the rows as the stage saw them, plus the gate and
    the reason. They hold no more than the table they came from."""
    write_staging(conn, rows, "quarantine", stage)


def read_table(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> pd.DataFrame:
    return conn.execute(f"SELECT * FROM {qualified(schema, table)}").df()


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """A content hash of a frame (values, column names, order): its Dagster data version.

    32 hex characters, so the same string also fits MLflow's dataset digest.
    """
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:32]


def render_feature_sql(sql: str, sources: Iterable[str]) -> str:
    """A dataset's feature SQL with each ``{source}`` replaced by its published redacted table."""
    tables = {source: qualified("redacted", source) for source in sources}
    return PLACEHOLDER.sub(lambda m: tables.get(m.group(1), m.group(0)), sql)
