"""Reading a query's result into pandas: DuckDB's own types, one object per distinct text."""

import duckdb
import pandas as pd

from pipeline.storage.warehouse import query_frame

ROWS = """
SELECT * FROM (VALUES
    (1::INTEGER, 10::BIGINT, TRUE, 1.50::DECIMAL(10, 2), 'web', DATE '2024-01-02',
     TIMESTAMP '2024-01-02 10:00:00', 7::TINYINT),
    (NULL, 11::BIGINT, NULL, NULL, 'web', NULL, NULL, 8::TINYINT),
    (3::INTEGER, 12::BIGINT, FALSE, 2.25::DECIMAL(10, 2), NULL, DATE '2024-03-04',
     TIMESTAMP '2024-03-04 11:30:00', 9::TINYINT)
) AS t(maybe_int, always_int, maybe_bool, price, channel, day, seen_at, small)
"""


def test_a_query_reads_with_the_types_duckdb_gives_its_frames():
    # given a result with NULLs in integer, boolean, decimal, text and date columns
    with duckdb.connect() as conn:
        # when it is read through Arrow
        frame = query_frame(conn, ROWS)
        expected = conn.execute(ROWS).df()
    # then its types and values are DuckDB's own .df() ones
    assert frame.dtypes.to_dict() == expected.dtypes.to_dict()
    pd.testing.assert_frame_equal(frame, expected)


def test_repeated_texts_share_one_object_per_column():
    # given a text column that repeats a few values over many rows
    with duckdb.connect() as conn:
        frame = query_frame(
            conn,
            "SELECT CASE WHEN i % 2 = 0 THEN 'web' ELSE 'store' END AS channel "
            "FROM range(1000) AS r(i)",
        )
    # then it holds one Python object per distinct value, not one per row
    assert frame["channel"].map(id).nunique() == 2
    assert frame["channel"].value_counts().to_dict() == {"web": 500, "store": 500}
