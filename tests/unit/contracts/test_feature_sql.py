"""Feature SQL: one SELECT over the dataset's redacted tables, refused at load otherwise.

Each attempt to reach data other than the redacted tables (raw files, URLs, other schemas,
extra statements, configuration) is refused by the static check with a specific reason; the
shipped declarations still load; and what slips past the check still runs in the sandbox.
"""

import shutil
from pathlib import Path

import duckdb
import pytest

from pipeline.contracts import schema
from pipeline.contracts.dataset import load_contracts
from pipeline.contracts.feature_sql import check_feature_sql, feature_sql_problem
from pipeline.declarations.dataset import load_dataset
from pipeline.errors import DeclarationError
from pipeline.storage.warehouse import render_feature_sql
from tests.helpers import REPO

SOURCES = ["customers", "transactions"]
ONLY_REDACTED = "only the redacted tables {customers}, {transactions} may be read"


def problem(sql: str) -> str | None:
    """The static check's verdict on ``sql`` as declared (with ``{source}`` placeholders)."""
    return feature_sql_problem(render_feature_sql(sql, SOURCES), SOURCES)


def copy_declarations(root: Path) -> Path:
    """The template's datasets, policies and contracts under ``root`` (no data needed)."""
    for folder in ("datasets", "policies", "expectations"):
        shutil.copytree(REPO / folder, root / folder)
    return root


def declare_churn_sql(root: Path, old: str, new: str) -> None:
    path = root / "datasets/churn.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture edit: {old!r} not found in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def fake_warehouse(path: Path) -> Path:
    """A warehouse file holding a raw customer row, as the pipeline's would."""
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE SCHEMA raw")
        conn.execute("CREATE TABLE raw.customers AS SELECT 1 AS customer_id, 'Ann Raw' AS name")
    return path


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        pytest.param(
            "SELECT c.customer_id, r.full_name, r.email FROM {customers} AS c "
            "JOIN read_csv('data/raw/customers.csv', header = true) AS r USING (customer_id) "
            "JOIN {transactions} USING (customer_id)",
            "calls read_csv: feature SQL may not read files or URLs",
            id="read_csv-of-a-raw-file",
        ),
        pytest.param(
            "SELECT * FROM {customers}, {transactions}, "
            "read_parquet('https://example.com/leak.parquet')",
            "calls read_parquet: feature SQL may not read files or URLs",
            id="read_parquet-of-a-url",
        ),
        pytest.param(
            "SELECT * FROM {customers} JOIN {transactions} USING (customer_id) "
            "JOIN 'data/raw/customers.csv' USING (customer_id)",
            "reads the file or URL 'data/raw/customers.csv': feature SQL may not read files",
            id="string-table-name-of-a-file",
        ),
        pytest.param(
            "SELECT * FROM {customers} JOIN {transactions} USING (customer_id) "
            "JOIN raw.customers AS r USING (customer_id)",
            f"reads table raw.customers: {ONLY_REDACTED}",
            id="raw-schema",
        ),
        pytest.param(
            "SELECT * FROM {customers}, {transactions}, staging.redacted__customers",
            f"reads table staging.redacted__customers: {ONLY_REDACTED}",
            id="staging-schema",
        ),
        pytest.param(
            "SELECT * FROM {customers}, {transactions}, quarantine.customers",
            f"reads table quarantine.customers: {ONLY_REDACTED}",
            id="quarantine-schema",
        ),
        pytest.param(
            "SELECT * FROM {customers}, {transactions};\n"
            "ATTACH '.govern/warehouse.duckdb' AS w (READ_ONLY);\n"
            "COPY (SELECT * FROM w.raw.customers) TO '/tmp/leak.csv';\n"
            "SELECT 1",
            "has 4 statements: it must be one SELECT",
            id="attach-and-copy-in-extra-statements",
        ),
        pytest.param(
            "ATTACH '.govern/warehouse.duckdb' AS w", "is an ATTACH statement", id="attach"
        ),
        pytest.param(
            "COPY (SELECT * FROM {customers}, {transactions}) TO '/tmp/leak.csv'",
            "is a COPY statement, not a SELECT",
            id="copy",
        ),
        pytest.param("INSTALL httpfs", "is an INSTALL statement, not a SELECT", id="install"),
        pytest.param("LOAD httpfs", "is a LOAD statement, not a SELECT", id="load"),
        pytest.param(
            "SET enable_external_access = true", "is a SET statement, not a SELECT", id="set"
        ),
        pytest.param("PRAGMA enable_profiling", "is a PRAGMA statement, not a SELECT", id="pragma"),
        pytest.param(
            "SELECT * FROM {customers}, {transactions}, query('SELECT * FROM raw.customers')",
            "calls query: feature SQL may not run SQL given as a string",
            id="query-of-a-sql-string",
        ),
        pytest.param(
            "WITH r AS (SELECT * FROM read_csv_auto('data/raw/customers.csv')) "
            "SELECT * FROM {customers}, {transactions}, r",
            "calls read_csv_auto: feature SQL may not read files or URLs",
            id="read_csv_auto-hidden-in-a-cte",
        ),
        pytest.param(
            "SELECT (SELECT content FROM read_text('data/raw/customers.csv')) AS leak "
            "FROM {customers}, {transactions}",
            "calls read_text: feature SQL may not read files or URLs",
            id="read_text-in-a-scalar-subquery",
        ),
        pytest.param(
            "SELECT * FROM {customers}, {transactions}, glob('data/raw/*')",
            "calls glob: feature SQL may not read files or URLs",
            id="glob",
        ),
        pytest.param(
            "SELECT * FROM {customers}, {transactions}, duckdb_tables()",
            "reads from the table function duckdb_tables()",
            id="table-function",
        ),
        pytest.param(
            "SELECT * FROM {customers}, {transactions}, warehouse.raw.customers",
            f"reads table warehouse.raw.customers: {ONLY_REDACTED}",
            id="catalog-qualified-table",
        ),
        pytest.param(
            "SELECT * FROM {customers}, {transactions}, redacted.patients",
            f"reads table redacted.patients: {ONLY_REDACTED}",
            id="another-datasets-redacted-table",
        ),
        pytest.param(
            "SELECT * FROM {customers}, {transactions}, customer_features",
            f"reads table customer_features: {ONLY_REDACTED}",
            id="unqualified-table-or-python-variable",
        ),
        pytest.param(
            "SELECT * FROM {customers}, {transactions}, {patients}",
            "names {patients}, not a source of this dataset",
            id="unknown-placeholder",
        ),
        pytest.param(
            "SELECT * FROM {customers}, {transactions} WHERE (",
            "cannot be parsed as DuckDB SQL",
            id="unparseable",
        ),
    ],
)
def test_an_attempt_to_read_beyond_the_redacted_tables_is_refused(sql: str, reason: str):
    # given a feature SQL that tries to reach something other than the redacted tables
    # when the static check reads it
    refused = problem(sql)
    # then it is refused with a specific reason
    assert refused is not None, f"accepted: {sql}"
    assert reason in refused, f"reason {refused!r} does not say {reason!r}"


def test_a_refusal_names_the_file_and_the_key_but_no_data():
    # given a feature SQL that joins the raw customers file
    sql = render_feature_sql(
        "SELECT * FROM {customers}, {transactions}, read_csv('data/raw/customers.csv')",
        SOURCES,
    )
    # when the dataset's check runs
    with pytest.raises(DeclarationError) as raised:
        check_feature_sql("churn", sql, SOURCES)
    # then the error names the file, the key and the reason
    message = str(raised.value)
    assert message == (
        "datasets/churn.yaml: features.sql: calls read_csv: feature SQL may not read files or URLs"
    ), message


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param(
            "WITH o AS (SELECT customer_id, count(*) AS n FROM {transactions} GROUP BY ALL) "
            "SELECT c.*, o.n FROM {customers} AS c LEFT JOIN o USING (customer_id)",
            id="cte-and-join",
        ),
        pytest.param(
            "(SELECT customer_id FROM {customers}) UNION ALL "
            "(SELECT customer_id FROM {transactions})",
            id="set-operation",
        ),
        pytest.param(
            "FROM {customers} SELECT *, (SELECT max(amount) FROM {transactions}) AS top",
            id="from-first-and-scalar-subquery",
        ),
        pytest.param(
            "SELECT c.customer_id, r.i, u.x FROM {customers} AS c, {transactions}, "
            "range(3) AS r(i), unnest([1, 2]) AS u(x), (VALUES (1)) AS v(a)",
            id="row-generators-and-values",
        ),
        pytest.param(
            'SELECT * FROM "redacted"."Customers" JOIN {transactions} USING (customer_id)',
            id="redacted-table-written-out",
        ),
    ],
)
def test_a_select_over_the_redacted_tables_is_accepted(sql: str):
    # given a single query over the dataset's redacted tables and its own CTEs
    # when the static check reads it
    # then it passes
    assert problem(sql) is None, problem(sql)


@pytest.mark.parametrize("name", ["churn", "readmission"])
def test_the_shipped_datasets_pass_the_check(name: str):
    # given a shipped declaration
    dataset = load_dataset(REPO / "datasets" / f"{name}.yaml")
    sources = list(dataset.sources)
    # when its rendered SQL is checked
    refused = feature_sql_problem(render_feature_sql(dataset.features.sql, sources), sources)
    # then it passes
    assert refused is None, f"datasets/{name}.yaml is refused: {refused}"


@pytest.mark.parametrize(
    ("name", "column"), [("churn", "complained"), ("readmission", "social_risk_flag")]
)
def test_the_shipped_datasets_still_load(tmp_path: Path, name: str, column: str):
    # given the template's declarations
    root = copy_declarations(tmp_path)
    dataset = load_dataset(root / "datasets" / f"{name}.yaml")
    # when their contracts load (the check, then DESCRIBE in the sandbox)
    contracts = load_contracts(dataset, root)
    # then the feature table's columns are known, the model's among them
    assert column in contracts.feature_columns, contracts.feature_columns
    assert dataset.model.target in contracts.feature_columns, contracts.feature_columns


def test_a_raw_file_joined_into_a_feature_fails_at_load(tmp_path: Path):
    # given a feature column built from the raw customers file (the first attempt)
    root = copy_declarations(tmp_path)
    declare_churn_sql(
        root,
        "      c.churned\n",
        "      c.churned,\n      (SELECT max(email) FROM read_csv('data/raw/customers.csv',"
        " header = true)) AS leaked_email\n",
    )
    dataset = load_dataset(root / "datasets/churn.yaml")
    # when the contracts load
    with pytest.raises(DeclarationError) as raised:
        load_contracts(dataset, root)
    # then the load fails naming the file, the key and the reason
    message = str(raised.value)
    assert message.startswith("datasets/churn.yaml: features.sql: calls read_csv"), message


def test_attach_and_copy_fail_at_load_and_write_nothing(tmp_path: Path):
    # given a warehouse with raw customers, and a declaration that attaches it and copies them
    # out while the definitions load (the second attempt)
    root = copy_declarations(tmp_path / "project")
    warehouse = fake_warehouse(tmp_path / "warehouse.duckdb")
    target = tmp_path / "stolen.csv"
    declare_churn_sql(
        root,
        "    WHERE c.churned IS NOT NULL\n",
        "    WHERE c.churned IS NOT NULL;\n"
        f"    ATTACH '{warehouse}' AS w (READ_ONLY);\n"
        f"    COPY (SELECT * FROM w.raw.customers) TO '{target}';\n"
        "    SELECT 1\n",
    )
    dataset = load_dataset(root / "datasets/churn.yaml")
    # when the contracts load
    with pytest.raises(DeclarationError) as raised:
        load_contracts(dataset, root)
    # then the load fails naming the statements, and no file was written
    message = str(raised.value)
    assert message == (
        "datasets/churn.yaml: features.sql: has 4 statements: it must be one SELECT"
    ), message
    assert not target.exists(), f"{target} was written while the declarations loaded"


def test_what_slips_past_the_check_is_described_in_the_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # given a static check that lets everything through (a gap in it, say)
    monkeypatch.setattr(schema, "check_feature_sql", lambda *args: None)
    warehouse = fake_warehouse(tmp_path / "warehouse.duckdb")
    target = tmp_path / "stolen.csv"
    root = copy_declarations(tmp_path / "project")
    dataset = load_dataset(root / "datasets/churn.yaml")
    schemas = {source: {"customer_id": "VARCHAR"} for source in dataset.sources}
    attack = (
        f"SELECT 1 AS x; ATTACH '{warehouse}' AS w (READ_ONLY); "
        f"COPY (SELECT * FROM w.raw.customers) TO '{target}'"
    )
    # when the load-time DESCRIBE runs the attack
    with pytest.raises(DeclarationError) as raised:
        schema.feature_schema(dataset, attack, schemas)
    # then the sandbox refuses the ATTACH, and nothing is written
    assert "Permission Error" in str(raised.value), str(raised.value)
    assert not target.exists(), f"{target} was written by the load-time DESCRIBE"
