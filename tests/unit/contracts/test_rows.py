"""Row-level gates: per-row clauses quarantine their rows within a budget; table clauses block."""

import json
from pathlib import Path

import pandas as pd

from pipeline.contracts.rows import GATE_COLUMN, REASON_COLUMN, screen
from pipeline.contracts.suite import load_suite
from pipeline.contracts.validation import validate


def suite(tmp_path: Path, *expectations: dict):
    path = tmp_path / "orders.json"
    path.write_text(json.dumps({"name": "orders", "expectations": list(expectations)}))
    return load_suite(path)


def critical(kind: str, **kwargs) -> dict:
    return {"type": kind, "kwargs": kwargs, "meta": {"severity": "critical"}}


ORDERS = pd.DataFrame(
    {
        "id": list(range(1, 21)),
        "channel": ["web"] * 18 + ["10.0.0.7", "app"],
        "amount": [10.0] * 19 + [-5.0],
    }
)


def test_rows_failing_a_row_clause_are_quarantined_and_the_rest_kept(tmp_path):
    # given a contract with a value set and a range, and a frame with one bad row for each
    contract = suite(
        tmp_path,
        critical("expect_column_values_to_be_in_set", column="channel", value_set=["web", "app"]),
        critical("expect_column_values_to_be_between", column="amount", min_value=0),
        critical("expect_table_row_count_to_be_between", min_value=10),
    )
    # when the frame is screened with a 10% budget
    screened = screen(contract, ORDERS, 0.10)
    # then the two rows are quarantined, each under the clause it failed, and nothing is lost
    assert sorted(screened.quarantined["id"]) == [19, 20]
    by_id = screened.quarantined.set_index("id")
    assert by_id.loc[19, GATE_COLUMN] == "in_set__channel"
    assert by_id.loc[20, REASON_COLUMN].startswith("failed expect_column_values_to_be_between")
    assert len(screened.kept) + len(screened.quarantined) == screened.rows_in == 20
    # and every row clause passes within its budget, the table clause on the kept rows
    assert [(g.clause.check_name, g.rejected, g.passed) for g in screened.row_gates] == [
        ("in_set__channel", 1, True),
        ("range__amount", 1, True),
    ]
    assert [r.success for r in screened.table_results] == [True]


def test_a_row_clause_over_its_budget_fails(tmp_path):
    # given a value-set clause and a budget of 1% (one bad row in twenty is 5%)
    contract = suite(
        tmp_path,
        critical("expect_column_values_to_be_in_set", column="channel", value_set=["web", "app"]),
    )
    # when screened
    gate = screen(contract, ORDERS, 0.01).row_gates[0]
    # then it fails, naming the share and the budget
    assert not gate.passed
    assert "1 of 20 rows failed (5.00%)" in gate.summary() and "over the budget 1.00%" in (
        gate.summary()
    )


def test_mostly_on_the_clause_is_its_budget(tmp_path):
    # given a clause that tolerates 10% of rows (mostly 0.9) and a stage budget of zero
    contract = suite(
        tmp_path,
        critical(
            "expect_column_values_to_be_in_set",
            column="channel",
            value_set=["web", "app"],
            mostly=0.9,
        ),
    )
    # when screened
    screened = screen(contract, ORDERS, 0.0)
    # then the clause's own budget applies: the bad row is quarantined and the clause passes
    assert screened.row_gates[0].budget == 0.1 and screened.row_gates[0].passed
    assert list(screened.quarantined["id"]) == [19]


def test_table_clauses_and_warnings_never_quarantine(tmp_path):
    # given a uniqueness clause (a table property), a warning clause and duplicate ids
    frame = ORDERS.assign(id=[1, 1] + list(range(3, 21)))
    contract = suite(
        tmp_path,
        critical("expect_column_values_to_be_unique", column="id"),
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "amount", "min_value": 0},
            "meta": {"severity": "warning"},
        },
    )
    # when screened
    screened = screen(contract, frame, 0.5)
    # then no row is quarantined; uniqueness fails on the table and the warning only reports
    assert screened.quarantined.empty and len(screened.kept) == 20
    assert [(r.clause.check_name, r.success) for r in screened.table_results] == [
        ("unique__id", False),
        ("range__amount", False),
    ]


def test_table_clauses_are_judged_on_the_rows_kept(tmp_path):
    # given a row count that 20 rows meet and 19 do not, and one row failing a value set
    contract = suite(
        tmp_path,
        critical("expect_column_values_to_be_in_set", column="channel", value_set=["web", "app"]),
        critical("expect_table_row_count_to_be_between", min_value=20),
    )
    # when screened: the bad row goes to quarantine
    screened = screen(contract, ORDERS, 0.10)
    # then the row count is judged on the 19 rows kept, not on the 20 read
    assert [(r.clause.check_name, r.success, r.observed_value) for r in screened.table_results] == [
        ("row_count", False, 19)
    ]


def test_a_clean_table_gets_the_results_of_validating_it_whole(tmp_path):
    # given a frame no row-level clause rejects, and table clauses that pass and fail on it
    clean = ORDERS[ORDERS["id"] <= 18]
    contract = suite(
        tmp_path,
        critical("expect_column_values_to_be_in_set", column="channel", value_set=["web", "app"]),
        critical("expect_table_row_count_to_be_between", min_value=10),
        critical("expect_column_values_to_be_unique", column="channel"),
    )
    # when screened (one GX pass: nothing is quarantined, so it is not validated again)
    screened = screen(contract, clean, 0.0)
    # then its table results are what validating the whole frame gives
    whole = [r for r in validate(contract, clean) if r.clause.check_name != "in_set__channel"]
    assert screened.quarantined.empty and screened.kept is clean
    assert screened.table_results == whole
    assert [r.success for r in screened.table_results] == [True, False]


def test_a_suite_narrowed_to_some_clauses_validates_them_as_the_whole_suite_does(tmp_path):
    # given a suite of three clauses, and the two table-level ones picked out of it (any order)
    contract = suite(
        tmp_path,
        critical("expect_table_row_count_to_be_between", min_value=10),
        critical("expect_column_values_to_be_in_set", column="channel", value_set=["web", "app"]),
        critical("expect_column_values_to_be_unique", column="channel"),
    )
    row_count, _, unique = contract.clauses
    narrowed = contract.only([unique, row_count])
    # then it holds those two, in the suite's order, as a suite of its own
    assert [c.check_name for c in narrowed.clauses] == ["row_count", "unique__channel"]
    assert narrowed.content_hash != contract.content_hash
    # and GX judges them on a frame as it does within the whole suite
    whole = validate(contract, ORDERS)
    assert validate(narrowed, ORDERS) == [whole[0], whole[2]]
