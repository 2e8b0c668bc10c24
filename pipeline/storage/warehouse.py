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
import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.storage.sql import qualified, quote_ident
from pipeline.storage.tables import PARTITION_COLUMN

_DATETIME_US = np.dtype("datetime64[us]")
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
        return query_frame(conn, f"SELECT * FROM {qualified(schema, table)}")
    return query_frame(
        conn,
        f"SELECT * EXCLUDE ({quote_ident(PARTITION_COLUMN)}) FROM {qualified(schema, table)} "
        f"WHERE {quote_ident(PARTITION_COLUMN)} = ?",
        [partition],
    )


def query_frame(
    conn: duckdb.DuckDBPyConnection, sql: str, params: list | None = None
) -> pd.DataFrame:
    """The result of ``sql`` as a pandas frame, typed as DuckDB's ``.df()`` types it, with one
    Python object per distinct text in a column.

    DuckDB's ``.df()`` makes a new Python string for every cell: a column of a dozen channels
    over five million rows holds five million strings. Through Arrow, pandas keeps one object
    per distinct value (``deduplicate_objects``), which makes a large raw table about a quarter
    smaller in memory. The types are ``.df()``'s: integers and booleans with NULLs nullable,
    dates ``datetime64[us]``, decimals float.
    """
    table = conn.sql(sql, params=params).to_arrow_table()
    frame = table.to_pandas(date_as_object=False)
    for position, (field, column) in enumerate(zip(table.schema, table.columns, strict=True)):
        converted = _as_duckdb_types(frame.iloc[:, position], field.type, column)
        if converted is not None:
            frame.isetitem(position, converted)
    return frame


_NULLABLE = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.UInt8Dtype(),
    pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(),
    pa.uint64(): pd.UInt64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}


def _as_duckdb_types(
    series: pd.Series, arrow_type: pa.DataType, column: pa.ChunkedArray
) -> pd.Series | None:
    """``series`` converted to the type ``.df()`` gives its column, or None if it has it."""
    if arrow_type in _NULLABLE and column.null_count:
        return pd.Series(column.to_pandas(types_mapper=_NULLABLE.get), index=series.index)
    if pa.types.is_decimal(arrow_type):
        return series.astype("float64")
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "M" and dtype != _DATETIME_US:
        return series.astype(_DATETIME_US)
    return None


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
