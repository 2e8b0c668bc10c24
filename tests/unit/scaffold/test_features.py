"""The proposed feature SQL: kept columns of the target's source, aggregates of the others."""

from pathlib import Path

import duckdb
import pandas as pd

from pipeline.scaffold.features import propose_feature_sql
from pipeline.scaffold.profile import SourceProfile
from pipeline.storage.warehouse import render_feature_sql


def profile(name: str, columns: dict[str, str], rules: dict[str, str], key=None):
    rows = pd.DataFrame({c: [] for c in columns})
    return SourceProfile(
        name, Path(f"{name}.csv"), columns, rows, key, {c: {"action": a} for c, a in rules.items()}
    )


def test_feature_sql_runs_and_gives_the_declared_features():
    # given a main source (kept plan and income, a hashed name) and a payments source
    loans = profile(
        "loans",
        {
            "loan_id": "BIGINT",
            "name": "VARCHAR",
            "plan": "VARCHAR",
            "income": "DOUBLE",
            "default": "BIGINT",
        },
        {"loan_id": "hash", "name": "drop", "plan": "keep", "income": "keep", "default": "keep"},
        key="loan_id",
    )
    payments = profile(
        "payments",
        {"loan_id": "BIGINT", "paid": "DOUBLE"},
        {"loan_id": "hash", "paid": "keep"},
    )
    # when the feature SQL is proposed and run over small redacted tables
    sql, numeric, categorical = propose_feature_sql(loans, [(payments, "loan_id")], "default")
    with duckdb.connect() as conn:
        conn.execute("CREATE SCHEMA redacted")
        conn.execute(
            "CREATE TABLE redacted.loans AS SELECT * FROM (VALUES ('a', 'basic', 10.0, 1), "
            "('b', 'gold', 20.0, 0)) t(loan_id, plan, income, \"default\")"
        )
        conn.execute(
            "CREATE TABLE redacted.payments AS SELECT * FROM (VALUES ('a', 1.0), ('a', 3.0)) "
            "t(loan_id, paid)"
        )
        frame = conn.execute(render_feature_sql(sql, ["loans", "payments"]) + " ORDER BY 1").df()
    # then kept columns become features, dropped ones do not, and the join aggregates
    assert numeric == ["income", "n_payments", "avg_payments_paid"], numeric
    assert categorical == ["plan"], categorical
    assert "name" not in frame.columns, "a dropped column never reaches the features"
    assert frame["n_payments"].tolist() == [2, 0], frame
    assert frame["avg_payments_paid"].tolist()[0] == 2.0, frame
    assert frame["default"].tolist() == [1, 0], "the target is carried as an integer"
