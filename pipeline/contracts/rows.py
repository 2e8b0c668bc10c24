"""Row-level gates: rows that fail a per-row clause are quarantined, not the whole table.

A contract mixes two kinds of clause. A **row-level** clause judges each row on its own (a regex,
a value set, a range, not-null, a length): one bad row says nothing about the others, so the
rows that fail it go to the stage's quarantine with the clause and the reason, and the rest is
published. The clause blocks only when the share of rows it rejects exceeds its budget: the
clause's own GX ``mostly`` (a clause with ``mostly: 0.99`` tolerates 1%), or else the stage's
``max_reject_fraction``. A **table-level** clause (row count, column set, uniqueness, a mean)
judges the table as a whole and blocks as before, evaluated on the rows that would be published.
Warning clauses never quarantine anything: they only report.

Every stage keeps ``rows_in == rows_published + rows_quarantined``.
"""

from dataclasses import dataclass, field

import pandas as pd

from pipeline.contracts.suite import Clause, ContractSuite
from pipeline.contracts.validation import ClauseResult, row_failures, validate

# GX column map expectations that judge each row alone. Uniqueness is a map expectation in GX
# but a property of the table: a duplicate is only a duplicate of another row.
ROW_LEVEL_EXPECTATIONS = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_null",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_values_to_match_regex_list",
        "expect_column_values_to_not_match_regex_list",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_value_lengths_to_be_between",
        "expect_column_value_lengths_to_equal",
        "expect_column_values_to_match_like_pattern",
        "expect_column_values_to_be_in_type_list",
        "expect_column_values_to_be_of_type",
    }
)
GATE_COLUMN, REASON_COLUMN = "_gate", "_reason"


def is_row_level(clause: Clause) -> bool:
    return clause.blocking and clause.expectation_type in ROW_LEVEL_EXPECTATIONS


def clause_budget(clause: Clause, stage_budget: float) -> float:
    """The share of rows a row-level clause may reject: its ``mostly``, else the stage's.

    Rounded, so ``mostly: 0.9`` is a budget of exactly 0.1, not 0.09999999999999998 (which
    would fail two bad rows in twenty that GX itself passes).
    """
    mostly = clause.config.get("kwargs", {}).get("mostly")
    return round(1.0 - float(mostly), 12) if mostly is not None else stage_budget


@dataclass(frozen=True)
class RowGate:
    """One row-level clause's verdict: how many rows it sent to quarantine, against a budget."""

    clause: Clause
    rows_in: int
    rejected: int
    budget: float

    @property
    def fraction(self) -> float:
        return self.rejected / self.rows_in if self.rows_in else 0.0

    @property
    def passed(self) -> bool:
        return self.fraction <= self.budget

    def summary(self) -> str:
        verdict = "within" if self.passed else "over"
        return (
            f"{self.clause.description}: {self.rejected} of {self.rows_in} rows failed "
            f"({self.fraction:.2%}) and were quarantined, {verdict} the budget {self.budget:.2%}"
        )


@dataclass
class Screened:
    """A frame after its contract: what may be published, what is quarantined, and why."""

    kept: pd.DataFrame
    quarantined: pd.DataFrame  # the failing rows, with GATE_COLUMN and REASON_COLUMN
    row_gates: list[RowGate] = field(default_factory=list)
    table_results: list[ClauseResult] = field(default_factory=list)

    @property
    def rows_in(self) -> int:
        return len(self.kept) + len(self.quarantined)


def screen(suite: ContractSuite, frame: pd.DataFrame, stage_budget: float) -> Screened:
    """Quarantine the rows that fail a blocking row-level clause; validate the rest.

    A row failing several clauses is quarantined once, under the first clause it fails (in the
    suite's order); each clause still counts every row it failed. The table-level and warning
    clauses are then validated on the rows that would be published: when no row was
    quarantined, that is the frame GX already read, and its results are reused (one GX pass
    over a large clean table, not two).
    """
    row_clauses = [c for c in suite.clauses if is_row_level(c)]
    failures, whole = row_failures(suite, frame, row_clauses) if row_clauses else ({}, None)
    reasons = pd.Series(pd.NA, index=frame.index, dtype="object")
    gates = pd.Series(pd.NA, index=frame.index, dtype="object")
    row_gates = []
    for clause in row_clauses:
        index = failures.get(clause.check_name, pd.Index([]))
        row_gates.append(
            RowGate(clause, len(frame), len(index), clause_budget(clause, stage_budget))
        )
        fresh = index[gates.loc[index].isna()] if len(index) else index
        gates.loc[fresh] = clause.check_name
        reasons.loc[fresh] = f"failed {clause.description}"
    bad = gates.notna()
    quarantined = frame[bad].assign(**{GATE_COLUMN: gates[bad], REASON_COLUMN: reasons[bad]})
    kept = frame[~bad] if bad.any() else frame  # no copy of a large table that lost no row
    row_names = {c.check_name for c in row_clauses}
    others = [c for c in suite.clauses if c.check_name not in row_names]
    if whole is not None and not bad.any():
        # A table that lost no row was already validated whole, in the same GX pass.
        results = whole
    else:
        # The row-level clauses have said their piece: only the others read the kept rows
        # again (at five million rows a second pass of every clause cost 25 s and 0.7 GB).
        results = validate(suite.only(others), kept) if others else []
    table_results = [r for r in results if r.clause.check_name not in row_names]
    return Screened(kept, quarantined, row_gates, table_results)
