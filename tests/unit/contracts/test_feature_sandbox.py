"""The feature sandbox: the redacted tables, and no way out of them.

A sandbox connection holds the dataset's redacted tables (empty at load; at run time, views over
the published Delta snapshots registered as Arrow datasets) and, once locked, refuses file and
URL reads, ATTACH, COPY, INSTALL, LOAD, SET, PRAGMA and Python replacement scans. The feature
SQL gives the same rows there as on a connection to every table.
"""

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipeline.declarations.dataset import load_dataset
from pipeline.storage.sandbox import empty_sandbox, published_schema, redacted_sandbox
from pipeline.storage.tables import TableStore
from pipeline.storage.warehouse import render_feature_sql
from tests.helpers import REPO

SOURCES = ["customers", "transactions"]
# What DuckDB says when external access is off, when the configuration is locked, and when a
# table is not in the sandbox.
PERMISSION = (duckdb.PermissionException, "disabled")
LOCKED = (duckdb.InvalidInputException, "the configuration has been locked")
MISSING = (duckdb.CatalogException, "does not exist")
TABLES = {
    "raw.customers": "SELECT 1 AS customer_id, 'Ann Raw' AS full_name, 'ann@example.com' AS email",
    "quarantine.customers": "SELECT 'Ann Raw' AS line",
    "features.customer_features": "SELECT 'Ann Raw' AS full_name",
    "redacted.customers": "SELECT 'tok' || i AS customer_id, "
    "['basic', 'pro'][1 + i % 2] AS plan, 1990 + i % 30 AS date_of_birth, "
    "DATE '2024-01-01' + i::INTEGER AS signup_date, i % 2 AS churned, "
    "CASE WHEN i % 3 = 0 THEN 'late refund' END AS support_notes, 'DE' AS country, "
    "uuid()::VARCHAR AS row_id, i::HUGEINT AS big, 'a'::ENUM('a', 'b') AS flag "
    "FROM range(50) AS t(i)",
    "redacted.transactions": "SELECT i AS transaction_id, "
    "'tok' || (i % 50) AS customer_id, DATE '2026-01-01' + (i % 90)::INTEGER AS order_date, "
    "(i * 7 % 100)::DOUBLE AS amount, ['web', 'app'][1 + i % 2] AS channel "
    "FROM range(400) AS t(i)",
}


@pytest.fixture
def store(tmp_path: Path) -> TableStore:
    """Delta tables in every zone; only ``redacted`` holds tokens, not names."""
    tables = TableStore(str(tmp_path / "tables"))
    with duckdb.connect() as conn:
        for name, query in TABLES.items():
            tables.publish(*name.split("."), conn.sql(query).to_arrow_table())
    return tables


@pytest.fixture
def warehouse(store: TableStore) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection where every published table is readable, as the pipeline's steps read."""
    with store.connect() as conn:
        yield conn


def snapshots(store: TableStore) -> dict:
    return {source: store.snapshot("redacted", source) for source in SOURCES}


@pytest.fixture(params=["published-snapshots", "empty-at-load"])
def sandbox(
    request: pytest.FixtureRequest, store: TableStore
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Both kinds of sandbox: the published Delta snapshots, and empty typed tables."""
    if request.param == "published-snapshots":
        with redacted_sandbox(snapshots(store)) as conn:
            yield conn
    else:
        schemas = {
            source: published_schema(store.snapshot("redacted", source)) for source in SOURCES
        }
        with empty_sandbox(schemas) as conn:
            yield conn


def churn_sql() -> str:
    """The shipped churn feature SQL, rendered."""
    dataset = load_dataset(REPO / "datasets/churn.yaml")
    return render_feature_sql(dataset.features.sql, SOURCES)


def test_the_sandbox_holds_the_redacted_tables_and_nothing_else(sandbox):
    # given a sandbox over a store with raw, quarantine, feature and redacted Delta tables
    # when its catalog is listed
    tables = sandbox.execute(
        "SELECT table_catalog, table_schema, table_name FROM information_schema.tables "
        "WHERE table_catalog <> 'temp' ORDER BY ALL"
    ).fetchall()
    hidden = sandbox.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'temp'"
    ).fetchall()
    # then only the dataset's redacted tables are there, in an in-memory database, and the
    # only registered datasets (under the views) are theirs
    assert tables == [
        ("memory", "redacted", "customers"),
        ("memory", "redacted", "transactions"),
    ], tables
    assert {name for (name,) in hidden} <= {
        "__delta__redacted__customers",
        "__delta__redacted__transactions",
    }, hidden


def test_the_sandbox_refuses_anything_but_redacted_snapshots(store):
    # given a snapshot of a raw table passed off as a source's redacted table
    # when a sandbox is asked to hold it
    impostor = {"customers": store.snapshot("raw", "customers")}
    with pytest.raises(ValueError) as raised, redacted_sandbox(impostor):
        pass
    # then it refuses, naming the table
    assert "raw.customers" in str(raised.value), raised.value


def test_the_sandbox_reads_the_published_rows_and_types(store, warehouse):
    # given published redacted Delta tables, some with types Delta stores as others (UUID,
    # HUGEINT, ENUM become VARCHAR, DECIMAL(38,0) and VARCHAR)
    # when a sandbox reads their snapshots
    with redacted_sandbox(snapshots(store)) as conn:
        for source in SOURCES:
            table = f"redacted.{source}"
            # then every column has the published type and every row its values
            assert (
                conn.execute(f"DESCRIBE {table}").fetchall()
                == warehouse.execute(f"DESCRIBE {table}").fetchall()
            ), f"{table}: types differ in the sandbox"
            boxed = conn.execute(f"SELECT * FROM {table} ORDER BY ALL").df()
            published = warehouse.execute(f"SELECT * FROM {table} ORDER BY ALL").df()
            pd.testing.assert_frame_equal(boxed, published, obj=table)


def test_the_churn_features_are_the_same_in_the_sandbox(store, warehouse):
    # given the shipped churn feature SQL
    query = f"SELECT * FROM ({churn_sql()}) ORDER BY ALL"
    # when it runs in the sandbox and on a connection to every table
    with redacted_sandbox(snapshots(store)) as conn:
        boxed = conn.execute(query).df()
    direct = warehouse.execute(query).df()
    # then both give the same rows, columns and types
    assert len(boxed) > 0, "the fixture should give feature rows"
    pd.testing.assert_frame_equal(boxed, direct, obj="customer_features")


@pytest.mark.parametrize(
    ("attempt", "refusal"),
    [
        pytest.param("SELECT * FROM read_csv('{csv}')", PERMISSION, id="read_csv"),
        pytest.param("SELECT * FROM '{csv}'", PERMISSION, id="string-table"),
        pytest.param(
            "SELECT * FROM read_parquet('https://example.com/x.parquet')",
            PERMISSION,
            id="read_parquet-url",
        ),
        pytest.param("ATTACH '{warehouse}' AS w (READ_ONLY)", PERMISSION, id="attach"),
        pytest.param(
            "COPY (SELECT * FROM redacted.customers) TO '{target}'",
            PERMISSION,
            id="copy-to",
        ),
        pytest.param("INSTALL httpfs", PERMISSION, id="install"),
        pytest.param("LOAD httpfs", PERMISSION, id="load"),
        pytest.param("SET enable_external_access = true", LOCKED, id="set"),
        pytest.param("SET lock_configuration = false", LOCKED, id="unlock"),
        pytest.param("RESET enable_external_access", LOCKED, id="reset"),
        pytest.param("PRAGMA enable_profiling", LOCKED, id="pragma"),
        pytest.param("SELECT * FROM raw.customers", MISSING, id="raw-schema"),
        pytest.param("SELECT * FROM features.customer_features", MISSING, id="features-schema"),
        pytest.param("SELECT * FROM __delta__raw__customers", MISSING, id="raw-dataset"),
        pytest.param("SELECT * FROM quarantine.customers", MISSING, id="quarantine"),
    ],
)
def test_the_locked_sandbox_refuses_every_way_out(sandbox, tmp_path, attempt, refusal):
    # given a locked sandbox, a raw file, a database file no one holds open and a place to
    # copy rows to
    csv = tmp_path / "customers.csv"
    csv.write_text("customer_id,full_name\n1,Ann Raw\n")
    database = tmp_path / "closed.duckdb"
    duckdb.connect(str(database)).close()
    target = tmp_path / "stolen.csv"
    sql = attempt.format(csv=csv, warehouse=database, target=target)
    # when the statement runs there
    error, says = refusal
    with pytest.raises(error) as raised:
        sandbox.execute(sql).fetchall()
    # then DuckDB refuses it for that reason, and writes nothing
    assert says in str(raised.value), f"{sql}: {raised.value}"
    assert not target.exists(), f"{target} was written from the sandbox"


def test_the_sandbox_does_not_scan_python_variables(sandbox):
    # given a DataFrame of raw names in the caller's scope, where DuckDB's Python client
    # would otherwise find it by name (a replacement scan)
    raw_names = pd.DataFrame({"full_name": ["Ann Raw"]})
    # when the feature SQL names it
    with pytest.raises(duckdb.Error) as raised:
        sandbox.execute("SELECT * FROM raw_names").fetchall()
    # then the sandbox does not find it
    assert "raw_names" in str(raised.value), str(raised.value)
    assert len(raw_names) == 1, "the frame stays in scope during the query"
