"""What every stage shares about its tables: reading one, its content fingerprint, and the
feature SQL's ``{source}`` placeholders.

The tables themselves are Delta Lake tables (``pipeline.storage.tables``): ``raw.<source>`` and
``quarantine.<source>`` (ingest), ``redacted.<source>`` and ``quarantine.redacted_<source>``,
``features.<table>`` and ``quarantine.<table>``. A stage holds its output (a frame, or a table
on its own in-memory DuckDB connection) until its gates pass, then publishes it in one Delta
commit: readers see the old published version or the new one, never a table that failed its
audit.
"""

import hashlib
import re
from collections.abc import Iterable

import duckdb
import pandas as pd

from pipeline.storage.sql import qualified, quote_ident
from pipeline.storage.tables import PARTITION_COLUMN

# ``{source}`` in a dataset's feature SQL: the source's published redacted table.
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


def staging_name(schema: str, table: str) -> str:
    """Where a stage's output waits for its gates on the stage's own connection."""
    return qualified("staging", f"{schema}__{table}")


def read_table(
    conn: duckdb.DuckDBPyConnection, schema: str, table: str, partition: str | None = None
) -> pd.DataFrame:
    """The table, or (``partition``) one batch's rows of a partitioned table, without the
    partition column."""
    if partition is None:
        return conn.execute(f"SELECT * FROM {qualified(schema, table)}").df()
    return conn.execute(
        f"SELECT * EXCLUDE ({quote_ident(PARTITION_COLUMN)}) FROM {qualified(schema, table)} "
        f"WHERE {quote_ident(PARTITION_COLUMN)} = ?",
        [partition],
    ).df()


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
