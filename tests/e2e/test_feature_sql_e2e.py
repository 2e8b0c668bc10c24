"""Only redacted data reaches features: in the code location and in a real run.

Each way a declaration can try to read beyond the redacted tables fails when the definitions
load, naming the file, the key and the reason; a run computes the same features in the sandbox
as on the warehouse; and a raw read that slipped past the load-time check fails the run.
"""

from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

import pipeline.contracts.dataset as contracts_module
from pipeline.contracts.schema import feature_schema
from pipeline.declarations.dataset import load_dataset, load_datasets
from pipeline.definitions import build_definitions
from pipeline.errors import DeclarationError
from pipeline.storage.warehouse import render_feature_sql
from tests.helpers import run_churn, status, table_rows, tables

pytestmark = pytest.mark.e2e
WHERE = "datasets/churn.yaml: features.sql: "
ONLY_REDACTED = "only the redacted tables {customers}, {transactions} may be read"
LAST_COLUMN = "      c.churned\n"
LAST_LINE = "    WHERE c.churned IS NOT NULL\n"
# Statements other than SELECT, still naming both sources (in a comment) as a declaration must.
OTHER_STATEMENT = "  sql: |\n    {statement} -- {{customers}} {{transactions}}\n\nmodel:"


def replace_churn_sql(project: Path, statement: str) -> None:
    """Replace churn's whole feature SQL with one statement."""
    path = project / "datasets/churn.yaml"
    text = path.read_text(encoding="utf-8")
    head, rest = text.split("  sql: |\n", 1)
    tail = rest.split("\nmodel:", 1)[1]
    path.write_text(head + OTHER_STATEMENT.format(statement=statement) + tail, encoding="utf-8")


def step_error(instance: dg.DagsterInstance, run_id: str, step: str) -> str:
    """The full error of a failed step, causes included."""
    texts = []
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        event = record.dagster_event
        error = event.event_specific_data.error if event.step_key == step else None
        while error is not None:
            texts.append(error.message)
            error = error.cause
    return "\n".join(texts)


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        pytest.param(
            LAST_COLUMN,
            "      c.churned,\n      (SELECT max(r.email) FROM read_csv('data/raw/customers.csv',"
            " header = true) AS r WHERE r.city = c.city) AS leaked_email\n",
            "calls read_csv: feature SQL may not read files or URLs",
            id="read_csv-of-a-raw-file",
        ),
        pytest.param(
            LAST_COLUMN,
            "      c.churned,\n      (SELECT count(*) FROM "
            "read_parquet('https://example.com/leak.parquet')) AS leaked\n",
            "calls read_parquet: feature SQL may not read files or URLs",
            id="read_parquet-of-a-url",
        ),
        pytest.param(
            "    LEFT JOIN orders AS o USING (customer_id)\n",
            "    LEFT JOIN orders AS o USING (customer_id)\n"
            "    LEFT JOIN 'data/raw/customers.csv' AS r ON r.city = c.city\n",
            "reads the file or URL 'data/raw/customers.csv': "
            "feature SQL may not read files or URLs",
            id="string-table-name-of-a-file",
        ),
        pytest.param(
            LAST_COLUMN,
            "      c.churned,\n      (SELECT max(full_name) FROM raw.customers) AS leaked\n",
            f"reads table raw.customers: {ONLY_REDACTED}",
            id="raw-schema",
        ),
        pytest.param(
            LAST_COLUMN,
            "      c.churned,\n      (SELECT count(*) FROM staging.redacted__customers) AS n\n",
            f"reads table staging.redacted__customers: {ONLY_REDACTED}",
            id="staging-schema",
        ),
        pytest.param(
            LAST_COLUMN,
            "      c.churned,\n      (SELECT count(*) FROM quarantine.customers) AS n\n",
            f"reads table quarantine.customers: {ONLY_REDACTED}",
            id="quarantine-schema",
        ),
        pytest.param(
            LAST_LINE,
            LAST_LINE.rstrip("\n") + ";\n    INSTALL httpfs;\n    SELECT 1\n",
            "has 3 statements: it must be one SELECT",
            id="install-after-the-select",
        ),
    ],
)
def test_a_feature_sql_reaching_beyond_redacted_tables_fails_at_load(
    project, edit_file, old, new, reason
):
    # given a churn feature SQL that reaches for data other than the redacted tables
    edit_file(project / "datasets/churn.yaml", old, new)
    # when the code location loads
    with pytest.raises(DeclarationError) as raised:
        build_definitions(project)
    # then it fails naming the file, the key and the reason
    assert str(raised.value) == WHERE + reason, str(raised.value)


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        pytest.param(
            "ATTACH '.govern/warehouse.duckdb' AS w", "is an ATTACH statement", id="attach"
        ),
        pytest.param("COPY redacted.customers TO 'leak.csv'", "is a COPY statement", id="copy"),
        pytest.param("INSTALL httpfs", "is an INSTALL statement", id="install"),
        pytest.param("LOAD httpfs", "is a LOAD statement", id="load"),
        pytest.param("SET enable_external_access = true", "is a SET statement", id="set"),
        pytest.param("PRAGMA enable_profiling", "is a PRAGMA statement", id="pragma"),
    ],
)
def test_a_feature_sql_that_is_not_a_select_fails_at_load(project, statement, reason):
    # given a churn feature SQL that is another kind of statement
    replace_churn_sql(project, statement)
    # when the code location loads
    with pytest.raises(DeclarationError) as raised:
        build_definitions(project)
    # then it fails naming the file, the key and the kind of statement
    assert str(raised.value) == f"{WHERE}{reason}, not a SELECT", str(raised.value)


def test_attach_and_copy_of_raw_customers_fail_at_load_and_write_nothing(
    project, edit_file, tmp_path
):
    # given a warehouse holding raw customers, and a declaration that attaches it and copies
    # them to a file of its choosing while the definitions load
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("CREATE SCHEMA raw")
        conn.execute("CREATE TABLE raw.customers AS SELECT 'Ann Raw' AS full_name")
    target = tmp_path / "stolen.csv"
    edit_file(
        project / "datasets/churn.yaml",
        LAST_LINE,
        LAST_LINE.rstrip("\n") + ";\n"
        f"    ATTACH '{warehouse}' AS w (READ_ONLY);\n"
        f"    COPY (SELECT * FROM w.raw.customers) TO '{target}';\n"
        "    SELECT 1\n",
    )
    # when the code location loads
    with pytest.raises(DeclarationError) as raised:
        build_definitions(project)
    # then it fails naming the statements, and the file was never written
    assert str(raised.value) == WHERE + "has 4 statements: it must be one SELECT", raised.value
    assert not target.exists(), f"{target} was written while the definitions loaded"


def test_the_shipped_datasets_load(project):
    # given the template's declarations
    # when the code location loads
    defs = build_definitions(project)
    # then both datasets' feature assets are there
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"customer_features", "readmission_features"} <= keys, sorted(keys)


def test_a_run_computes_the_same_features_in_the_sandbox(finished_churn_run):
    # given a run of the churn job (features computed in the sandbox)
    summary = finished_churn_run.summary
    assert summary.success, summary.failures
    # when the same SQL runs directly on the warehouse's published redacted tables
    dataset = load_dataset(finished_churn_run.project / "datasets/churn.yaml")
    sql = render_feature_sql(dataset.features.sql, list(dataset.sources))
    with tables() as conn:
        direct = conn.execute(f"SELECT * FROM ({sql}) ORDER BY ALL").df()
        published = conn.execute("SELECT * FROM features.customer_features").df()
    # then the published feature table is exactly what the warehouse would have given
    pd.testing.assert_frame_equal(published, direct, obj="features.customer_features")


def test_a_raw_read_that_slips_past_load_fails_the_run(project, instance, edit_file, monkeypatch):
    # given a feature SQL reading raw names, and a load-time check that misses it (its columns
    # described from the shipped SQL)
    shipped = {
        d.name: render_feature_sql(d.features.sql, list(d.sources)) for d in load_datasets(project)
    }
    monkeypatch.setattr(
        contracts_module,
        "feature_schema",
        lambda dataset, sql, schemas: feature_schema(dataset, shipped[dataset.name], schemas),
    )
    edit_file(
        project / "datasets/churn.yaml",
        "      c.plan,\n",
        "      (SELECT max(full_name) FROM raw.customers) AS plan,\n",
    )
    # when the churn job runs
    summary = run_churn(project, instance)
    # then the feature asset fails in its sandbox, where raw.customers does not exist
    assert status(summary, "customer_features") == "failed", summary.assets
    error = step_error(instance, summary.run_id, "customer_features")
    assert 'schema "raw" does not exist' in error, error
    assert table_rows("features.customer_features") is None
    assert status(summary, "churn_model") == "not run", summary.assets
