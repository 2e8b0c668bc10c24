"""A partitioned Delta table: publishing one batch replaces that batch's rows only, in one
commit, whether the rows come as a table or as a stream of record batches.

Real delta-rs and DuckDB on a temporary folder.
"""

from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from pipeline.storage.tables import PARTITION_COLUMN, TableStore


@pytest.fixture
def store(tmp_path: Path) -> TableStore:
    return TableStore(str(tmp_path / "tables"))


def counts(store: TableStore, name: str) -> dict[str, int]:
    with store.connect([name]) as conn:
        result = conn.execute(
            f"SELECT {PARTITION_COLUMN}, count(*) FROM {name} GROUP BY 1 ORDER BY 1"
        ).fetchall()
    return dict(result)


def batch(first: int, n: int) -> pa.Table:
    return pa.table({"id": list(range(first, first + n)), "amount": [1.5] * n})


def test_publishing_one_partition_replaces_only_its_rows_in_one_commit(store):
    # given a table holding two batches
    store.publish("raw", "transactions", batch(0, 3), partition="2026-06-27.csv")
    store.publish("raw", "transactions", batch(3, 4), partition="2026-06-28.csv")
    before = store.version("raw", "transactions")
    # when the first batch is published again with fewer rows
    published = store.publish("raw", "transactions", batch(0, 2), partition="2026-06-27.csv")
    # then its rows are replaced, the other batch's kept, and it took exactly one commit
    assert counts(store, "raw.transactions") == {"2026-06-27.csv": 2, "2026-06-28.csv": 4}
    assert published.version == before + 1, "one Delta commit per partition publish"
    assert DeltaTable(published.uri).metadata().partition_columns == [PARTITION_COLUMN]


def test_a_streamed_partition_and_an_empty_one_are_tagged_with_their_key(store):
    # given a stream of record batches (how ingest publishes) and an empty frame (a quarantine
    # with no rejects)
    def stream() -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(batch(0, 1).schema, batch(0, 5).to_batches(2))

    # when each is published as a partition
    store.publish("quarantine", "transactions", batch(0, 0), partition="a.csv")
    store.publish("quarantine", "transactions", stream, partition="b.csv")
    store.publish("quarantine", "transactions", batch(0, 0), partition="c.csv")
    # then the streamed rows carry their key, and the empty batches add no rows
    assert counts(store, "quarantine.transactions") == {"b.csv": 5}


def test_an_unpartitioned_publish_still_replaces_the_whole_table(store):
    # given a table published whole, twice
    store.publish("redacted", "customers", batch(0, 5))
    store.publish("redacted", "customers", batch(0, 2))
    # then it holds the last rows only, and no partition column
    with store.connect(["redacted.customers"]) as conn:
        columns = [c[0] for c in conn.execute("DESCRIBE redacted.customers").fetchall()]
        assert conn.execute("SELECT count(*) FROM redacted.customers").fetchone()[0] == 2
    assert PARTITION_COLUMN not in columns
