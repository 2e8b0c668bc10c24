"""``govern contract init``: a starter suite proposed from a redacted table, that the table itself
passes, and that catches the data drifting out of what was profiled."""

import json
from pathlib import Path

import pandas as pd

from pipeline.contracts.profiling import propose_suite
from pipeline.contracts.suite import load_suite
from pipeline.contracts.validation import validate
from pipeline.privacy.policy import PiiPolicy
from pipeline.privacy.transforms import hmac_token

POLICY = PiiPolicy.model_validate(
    {
        "source": "customers",
        "columns": {
            "customer_id": {"action": "hash", "prefix": "cus_"},
            "plan": {"action": "keep"},
            "amount": {"action": "keep"},
            "churned": {"action": "keep"},
            "active": {"action": "keep"},
            "age": {"action": "keep"},
            "city": {"action": "keep"},
            "notes": {"action": "scan", "entities": ["PERSON"]},
        },
    }
)


def customers(rows: int = 40) -> pd.DataFrame:
    """A redacted customers table: tokens, a flag, a bool, a range, low- and high-cardinality
    text, a column with a few NULLs and scanned notes."""
    return pd.DataFrame(
        {
            "customer_id": [hmac_token(b"key", str(i), "cus_") for i in range(rows)],
            "plan": [["basic", "pro", "team"][i % 3] for i in range(rows)],
            "amount": [20.0 + 100.0 * i / (rows - 1) for i in range(rows)],
            "churned": [i % 2 for i in range(rows)],
            "active": [i % 3 == 0 for i in range(rows)],
            "age": [None if i % 10 == 0 else 30 + i % 40 for i in range(rows)],
            "city": [f"city-{i}" for i in range(rows)],
            "notes": [f"called on day {i}, said <PERSON> would pay" for i in range(rows)],
        }
    )


def clauses_by_column(suite: dict) -> dict[str, list[tuple]]:
    """Column -> [(type, kwargs other than column, severity)] of the proposed clauses."""
    found: dict[str, list[tuple]] = {}
    for clause in suite["expectations"]:
        kwargs = dict(clause["kwargs"])
        column = kwargs.pop("column", "<table>")
        found.setdefault(column, []).append((clause["type"], kwargs, clause["meta"]["severity"]))
    return found


def validate_proposed(tmp_path: Path, suite: dict, frame: pd.DataFrame) -> dict[str, bool]:
    path = tmp_path / f"{suite['name']}.json"
    path.write_text(json.dumps(suite))
    return {r.clause.check_name: r.success for r in validate(load_suite(path), frame)}


def test_each_column_gets_the_clauses_its_data_and_policy_call_for():
    # given a redacted table of 40 rows, its policy and its key
    suite = propose_suite("customers", customers(), POLICY, key="customer_id")
    found = clauses_by_column(suite)
    not_null = ("expect_column_values_to_not_be_null", {}, "critical")
    # then the table has its exact column set and a row floor of half what was seen
    assert found["<table>"] == [
        (
            "expect_table_columns_to_match_set",
            {"column_set": list(customers().columns), "exact_match": True},
            "critical",
        ),
        ("expect_table_row_count_to_be_between", {"min_value": 20}, "critical"),
    ], found["<table>"]
    # and the hashed key is unique and token-shaped, never ranged or enumerated
    assert found["customer_id"] == [
        not_null,
        ("expect_column_values_to_be_unique", {}, "critical"),
        ("expect_column_values_to_match_regex", {"regex": "^cus_[0-9a-f]{24}$"}, "critical"),
    ], found["customer_id"]
    # and low-cardinality text is a value set, a 0/1 flag is a flag, a number a widened range
    assert found["plan"][1] == (
        "expect_column_values_to_be_in_set",
        {"value_set": ["basic", "pro", "team"]},
        "critical",
    ), found["plan"]
    assert found["churned"][1][1] == {"value_set": [0, 1]}, found["churned"]
    assert found["amount"][1] == (
        "expect_column_values_to_be_between",
        {"min_value": 10, "max_value": 130},
        "critical",
    ), "20..120 widened by 10% of its span on each side"
    # and a column with 10% NULLs may stay 85% complete, as a warning
    assert found["age"][0] == (
        "expect_column_values_to_not_be_null",
        {"mostly": 0.85},
        "warning",
    ), found["age"]
    # and a bool, high-cardinality text and scanned free text get no value clause
    for column in ("active", "city", "notes"):
        assert found[column] == [not_null], f"{column} must only be required not null"
    assert all(
        c["meta"]["generated_by"] == "govern contract init" for c in suite["expectations"]
    ), "every clause is marked as generated, for review"
    assert suite["meta"] == {"generated_by": "govern contract init", "profiled_rows": 40}


def test_the_proposed_suite_passes_on_the_table_it_was_profiled_from(tmp_path: Path):
    # given a suite proposed from a table
    frame = customers()
    suite = propose_suite("customers", frame, POLICY, key="customer_id")
    # when the real GX validation runs it on that same table
    results = validate_proposed(tmp_path, suite, frame)
    # then every clause passes
    assert results and all(results.values()), [name for name, ok in results.items() if not ok]


def test_the_proposed_suite_catches_data_outside_what_was_profiled(tmp_path: Path):
    # given a suite proposed from a table, then a batch with a new plan, a huge amount,
    # a repeated key and a raw (unhashed) id
    suite = propose_suite("customers", customers(), POLICY, key="customer_id")
    drifted = customers()
    drifted.loc[0, "plan"] = "enterprise"
    drifted.loc[1, "amount"] = 10_000.0
    drifted.loc[2, "customer_id"] = drifted.loc[3, "customer_id"]
    drifted.loc[4, "customer_id"] = "12345"
    # when the suite validates it
    results = validate_proposed(tmp_path, suite, drifted)
    # then exactly the clauses on those drifts fail
    assert sorted(name for name, ok in results.items() if not ok) == [
        "in_set__plan",
        "range__amount",
        "regex__customer_id",
        "unique__customer_id",
    ], results


def test_ranges_stay_non_negative_for_non_negative_data_and_widen_negative_data():
    # given amounts from 5 to 100 (margin 9.5 would go below 0) and balances from -5 to 5
    frame = pd.DataFrame({"amount": [5.0, 50.0, 100.0], "balance": [-5, 0, 5]})
    # when a suite is proposed without a policy
    found = clauses_by_column(propose_suite("ledger", frame))
    # then a non-negative column keeps a floor of 0; a signed one widens both ways
    assert found["amount"][1][1] == {"min_value": 0, "max_value": 110}, found["amount"]
    assert found["balance"][1][1] == {"min_value": -6, "max_value": 6}, found["balance"]


def test_only_a_key_that_is_unique_is_proposed_as_unique():
    # given a key column with a repeated value
    frame = pd.DataFrame({"id": [1, 2, 2, 3]})
    # then no uniqueness clause is proposed, and a key is never ranged
    found = clauses_by_column(propose_suite("t", frame, key="id"))
    assert [c[0] for c in found["id"]] == ["expect_column_values_to_not_be_null"], found["id"]


def test_value_sets_only_for_text_seen_often_enough_and_nulls_only_when_mostly_present():
    # given 3 plans over 15 rows, the same over 14 rows, and a column half NULL
    often = pd.DataFrame({"plan": ["a", "b", "c"] * 5})
    rarely = pd.DataFrame({"plan": (["a", "b", "c"] * 5)[:14]})
    sparse = pd.DataFrame({"fax": [None, "x", None, "y"]})
    # then a set needs 5 rows per value; a column at least half NULL gets no null clause
    assert len(clauses_by_column(propose_suite("t", often))["plan"]) == 2, "3 values x 5 rows"
    assert len(clauses_by_column(propose_suite("t", rarely))["plan"]) == 1, "too few rows"
    assert "fax" not in clauses_by_column(propose_suite("t", sparse)), "half NULL: no clause"
