"""Schemas known at load time: a redacted table's columns from its policy, the feature table's from
describing the feature SQL on empty tables, and the model's columns checked against them."""

from pathlib import Path

import pytest

from pipeline.contracts.schema import check_model_columns, feature_schema, redacted_schema
from pipeline.declarations.dataset import DatasetSpec, SourceSpec
from pipeline.errors import DeclarationError
from pipeline.ingest.reader import ingest_to_table
from pipeline.privacy.policy import PiiPolicy
from pipeline.privacy.redactor import Redactor
from pipeline.storage.tables import TableStore, private_connection
from pipeline.storage.warehouse import read_table, render_feature_sql, staging_name

PEOPLE = SourceSpec(
    path=Path("people.csv"),
    columns={
        "person_id": "BIGINT",
        "full_name": "VARCHAR",
        "born": "DATE",
        "visits": "INTEGER",
        "score": "DOUBLE",
        "city": "VARCHAR",
        "zip": "VARCHAR",
        "phone": "VARCHAR",
        "email": "VARCHAR",
    },
)

POLICY = PiiPolicy.model_validate(
    {
        "source": "people",
        "columns": {
            "person_id": {"action": "hash", "prefix": "p_"},
            "full_name": {"action": "drop", "entity": "PERSON"},
            "born": {"action": "generalize", "to": "year"},
            "visits": {"action": "keep"},
            "score": {"action": "keep"},
            "city": {"action": "keep"},
            "zip": {"action": "generalize", "to": "prefix", "keep_chars": 2},
            "phone": {"action": "mask", "keep_last": 2},
            "email": {"action": "replace", "entity": "EMAIL_ADDRESS"},
        },
    }
)


def dataset(sql: str, features: list[str], target: str = "visited") -> DatasetSpec:
    """A one-source dataset; ``sql`` is the declared template, reading ``{people}``."""
    return DatasetSpec(
        name="clinic",
        sources={"people": PEOPLE},
        features={"name": "people_features", "sql": sql},
        model={"name": "clinic_model", "target": target, "numeric_features": features},
    )


def test_the_redacted_schema_follows_each_policy_action():
    # given one column per action
    # when the redacted schema is derived from the policy alone
    schema = redacted_schema(POLICY, PEOPLE)
    # then dropped columns are gone, kept ones keep their type, the rest become text or a year
    assert schema == {
        "person_id": "VARCHAR",
        "born": "BIGINT",
        "visits": "INTEGER",
        "score": "DOUBLE",
        "city": "VARCHAR",
        "zip": "VARCHAR",
        "phone": "VARCHAR",
        "email": "VARCHAR",
    }, schema
    assert list(schema) == [c for c in POLICY.columns if c != "full_name"], "policy order"


def test_a_kept_column_the_source_does_not_declare_is_text():
    # given a policy keeping a column the source spec does not type
    policy = PiiPolicy.model_validate({"source": "people", "columns": {"note": {"action": "keep"}}})
    # then it is VARCHAR, the type ingest gives an undeclared column
    assert redacted_schema(policy, PEOPLE) == {"note": "VARCHAR"}, "an untyped column is text"


def test_the_redacted_schema_matches_the_table_redaction_really_publishes(tmp_path: Path):
    # given a CSV ingested to raw, redacted by the real redactor and published (no DATE column
    # is kept: the pandas round trip publishes a kept DATE as TIMESTAMP, which this would flag)
    csv = tmp_path / "people.csv"
    csv.write_text(
        "person_id,full_name,born,visits,score,city,zip,phone,email\n"
        "1,Ann Lee,1990-05-01,3,0.5,Oslo,0150,+47 912 34 567,ann@example.com\n"
        "2,Bo Ng,1985-02-03,,1.25,Rome,00184,+39 06 1234 5678,bo@example.com\n"
    )
    store = TableStore(str(tmp_path / "tables"))
    with private_connection() as conn:
        conn.execute("CREATE SCHEMA staging")
        raw, rejects = staging_name("raw", "people"), staging_name("quarantine", "people")
        ingest_to_table(conn, "people", PEOPLE, csv, raw, rejects)
        store.publish("raw", "people", conn.sql(f"FROM {raw}").to_arrow_table())
    with store.connect(["raw.people"]) as conn:
        redacted, _ = Redactor(POLICY, b"test-key").redact(read_table(conn, "raw", "people"))
    store.publish("redacted", "people", redacted)
    # when the published table is described
    with store.connect(["redacted.people"]) as conn:
        described = conn.execute("DESCRIBE redacted.people").fetchall()
    published = {row[0]: row[1] for row in described}
    # then the load-time schema predicted its columns and types
    assert published == redacted_schema(POLICY, PEOPLE), (
        "the schema checked at load time must be the one the run publishes"
    )


def test_the_feature_schema_is_described_from_the_sql_on_empty_tables():
    # given feature SQL aggregating the redacted table, rendered as the loader renders it
    spec = dataset(
        "SELECT person_id, count(*) AS n_rows, sum(score) AS total_score, "
        "2026 - max(born) AS age, CAST(max(visits) > 0 AS INTEGER) AS visited "
        "FROM {people} GROUP BY person_id",
        ["n_rows", "total_score", "age"],
    )
    sql = render_feature_sql(spec.features.sql, list(spec.sources))
    # when its schema is described against the redacted schemas
    columns = feature_schema(spec, sql, {"people": redacted_schema(POLICY, PEOPLE)})
    # then each column has the type DuckDB will give it, with no data read
    assert columns == {
        "person_id": "VARCHAR",
        "n_rows": "BIGINT",
        "total_score": "DOUBLE",
        "age": "BIGINT",
        "visited": "INTEGER",
    }, columns
    check_model_columns(spec, columns)


def test_feature_sql_reading_a_dropped_column_fails_at_load_time_with_the_file():
    # given feature SQL that reads full_name, which the policy drops
    spec = dataset("SELECT full_name, visits AS visited FROM {people}", ["full_name"])
    sql = render_feature_sql(spec.features.sql, list(spec.sources))
    # then describing it is a declaration error naming the file and key, on one line
    with pytest.raises(DeclarationError) as error:
        feature_schema(spec, sql, {"people": redacted_schema(POLICY, PEOPLE)})
    message = str(error.value)
    assert message.startswith("datasets/clinic.yaml: features.sql: "), message
    assert "full_name" in message, "the error must name the column that does not exist"
    assert "\n" not in message, "only DuckDB's first line, not its whole report"


def test_model_columns_the_features_do_not_produce_are_named():
    # given features that give person_id, age and visited
    columns = {"person_id": "VARCHAR", "age": "BIGINT", "visited": "INTEGER"}
    spec = dataset("SELECT * FROM {people}", ["age", "tenure"], target="churned")
    # then the missing feature and target are named, with what the SQL does give
    with pytest.raises(DeclarationError) as error:
        check_model_columns(spec, columns)
    assert str(error.value) == (
        "datasets/clinic.yaml: model: columns ['tenure', 'churned'] are not produced by "
        "features.sql (it gives ['age', 'person_id', 'visited'])"
    ), str(error.value)
    check_model_columns(dataset("SELECT * FROM {people}", ["age"]), columns)
