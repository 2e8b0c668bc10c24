"""The feature sandbox: the redacted tables, and no way out of them.

A sandbox connection holds the dataset's redacted tables (empty at load, copies of the
published ones at run time) and, once locked, refuses file and URL reads, ATTACH, COPY,
INSTALL, LOAD, SET, PRAGMA and Python replacement scans. The feature SQL gives the same rows
there as on the warehouse.
"""

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipeline.declarations.dataset import load_dataset
from pipeline.storage.sandbox import empty_sandbox, published_schema, redacted_sandbox
from pipeline.storage.warehouse import render_feature_sql
from tests.helpers import REPO

SOURCES = ["customers", "transactions"]
# What DuckDB says when external access is off, when the configuration is locked, and when a
# table is not in the sandbox.
PERMISSION = (duckdb.PermissionException, "disabled")
LOCKED = (duckdb.InvalidInputException, "the configuration has been locked")
MISSING = (duckdb.CatalogException, "does not exist")


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A warehouse with every stage's schema; only ``redacted`` holds tokens, not names."""
    conn = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    for schema in ("raw", "quarantine", "redacted", "features", "staging"):
        conn.execute(f"CREATE SCHEMA {schema}")
    conn.execute(
        "CREATE TABLE raw.customers AS SELECT 1 AS customer_id, 'Ann Raw' AS full_name, "
        "'ann@example.com' AS email"
    )
    conn.execute("CREATE TABLE quarantine.customers AS SELECT 'Ann Raw' AS line")
    conn.execute("CREATE TABLE staging.redacted__customers AS SELECT 'tok' AS customer_id")
    conn.execute(
        "CREATE TABLE redacted.customers AS SELECT 'tok' || i AS customer_id, "
        "['basic', 'pro'][1 + i % 2] AS plan, 1990 + i % 30 AS date_of_birth, "
        "DATE '2024-01-01' + i::INTEGER AS signup_date, i % 2 AS churned, "
        "CASE WHEN i % 3 = 0 THEN 'late refund' END AS support_notes, 'DE' AS country, "
        "uuid() AS row_id, i::HUGEINT AS big, 'a'::ENUM('a', 'b') AS flag "
        "FROM range(50) AS t(i)"
    )
    conn.execute(
        "CREATE TABLE redacted.transactions AS SELECT i AS transaction_id, "
        "'tok' || (i % 50) AS customer_id, DATE '2026-01-01' + (i % 90)::INTEGER AS order_date, "
        "(i * 7 % 100)::DOUBLE AS amount, ['web', 'app'][1 + i % 2] AS channel "
        "FROM range(400) AS t(i)"
    )
    yield conn
    conn.close()


@pytest.fixture(params=["published-copies", "empty-at-load"])
def sandbox(
    request: pytest.FixtureRequest, warehouse: duckdb.DuckDBPyConnection
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Both kinds of sandbox: copies of the published tables, and empty typed tables."""
    if request.param == "published-copies":
        with redacted_sandbox(warehouse, SOURCES) as conn:
            yield conn
    else:
        schemas = {source: published_schema(warehouse, source) for source in SOURCES}
        with empty_sandbox(schemas) as conn:
            yield conn


def churn_sql() -> str:
    """The shipped churn feature SQL, rendered."""
    dataset = load_dataset(REPO / "datasets/churn.yaml")
    return render_feature_sql(dataset.features.sql, SOURCES)


def test_the_sandbox_holds_the_redacted_tables_and_nothing_else(sandbox):
    # given a sandbox over a warehouse with raw, quarantine, staging and redacted tables
    # when its catalog is listed
    tables = sandbox.execute(
        "SELECT table_catalog, table_schema, table_name FROM information_schema.tables ORDER BY ALL"
    ).fetchall()
    # then only the dataset's redacted tables are there, in an in-memory database
    assert tables == [
        ("memory", "redacted", "customers"),
        ("memory", "redacted", "transactions"),
    ], tables


def test_the_copies_keep_the_published_rows_and_types(warehouse):
    # given published redacted tables, some with types Arrow widens (UUID, HUGEINT, ENUM)
    # when they are copied into a sandbox
    with redacted_sandbox(warehouse, SOURCES) as conn:
        for source in SOURCES:
            table = f"redacted.{source}"
            # then every column keeps its type and every row its values
            assert (
                conn.execute(f"DESCRIBE {table}").fetchall()
                == warehouse.execute(f"DESCRIBE {table}").fetchall()
            ), f"{table}: types changed in the copy"
            copied = conn.execute(f"SELECT * FROM {table} ORDER BY ALL").df()
            published = warehouse.execute(f"SELECT * FROM {table} ORDER BY ALL").df()
            pd.testing.assert_frame_equal(copied, published, obj=table)


def test_the_churn_features_are_the_same_in_the_sandbox(warehouse):
    # given the shipped churn feature SQL
    query = f"SELECT * FROM ({churn_sql()}) ORDER BY ALL"
    # when it runs in the sandbox and, as it used to, on the warehouse
    with redacted_sandbox(warehouse, SOURCES) as conn:
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
        pytest.param(
            "SELECT * FROM staging.redacted__customers",
            MISSING,
            id="staging-schema",
        ),
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
