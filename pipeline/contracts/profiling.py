"""``govern contract init``: profile a redacted table and propose a starter GX 1.x suite.

GX 1.x dropped its profilers, so this is ours. It proposes what a reviewer would write first:
the exact column set, a row-count floor, dtypes, nullability (exact where the data has no
NULLs, a ``mostly`` margin where it has some), uniqueness of the key, token shape of hashed
columns, ranges of numbers (widened by a margin) and value sets of low-cardinality text.
Every clause is marked ``generated_by: govern contract init`` for review.
"""

import math
import re
from typing import Any

import pandas as pd

from pipeline.privacy.policy import HashRule, PiiPolicy, ScanRule

_MAX_SET = 20
_RANGE_MARGIN = 0.1


def _clause(expectation_type: str, severity: str, **kwargs: Any) -> dict[str, Any]:
    return {
        "type": expectation_type,
        "kwargs": kwargs,
        "meta": {"severity": severity, "generated_by": "govern contract init"},
    }


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(float(value), 4)


def propose_suite(
    name: str, frame: pd.DataFrame, policy: PiiPolicy | None = None, key: str | None = None
) -> dict[str, Any]:
    """A GX 1.x suite (JSON-ready dict) that ``frame`` itself passes."""
    rows = len(frame)
    clauses = [
        _clause(
            "expect_table_columns_to_match_set",
            "critical",
            column_set=list(frame.columns),
            exact_match=True,
        ),
        _clause("expect_table_row_count_to_be_between", "critical", min_value=max(1, rows // 2)),
    ]
    for column in frame.columns:
        clauses += _column_clauses(frame[column], column, policy, key)
    return {
        "name": name,
        "meta": {"generated_by": "govern contract init", "profiled_rows": rows},
        "expectations": clauses,
    }


def _null_clauses(series: pd.Series, column: str) -> list[dict[str, Any]]:
    """Exactly not null where the data has no NULLs; a ``mostly`` margin where it has some."""
    null_fraction = float(series.isna().mean()) if len(series) else 0.0
    if null_fraction == 0:
        return [_clause("expect_column_values_to_not_be_null", "critical", column=column)]
    if null_fraction < 0.5:
        mostly = math.floor((1 - null_fraction - 0.05) * 100) / 100
        return [
            _clause(
                "expect_column_values_to_not_be_null",
                "warning",
                column=column,
                mostly=max(mostly, 0.01),
            )
        ]
    return []


def _numeric_clause(values: pd.Series, column: str) -> dict[str, Any]:
    """A 0/1 flag's value set, or a range widened by a margin."""
    if values.nunique() <= 2 and set(values.unique()) <= {0, 1}:
        return _clause(
            "expect_column_values_to_be_in_set", "critical", column=column, value_set=[0, 1]
        )
    low, high = float(values.min()), float(values.max())
    margin = (high - low) * _RANGE_MARGIN
    floor = 0 if low >= 0 and low - margin < 0 else _number(math.floor(low - margin))
    return _clause(
        "expect_column_values_to_be_between",
        "critical",
        column=column,
        min_value=floor,
        max_value=_number(math.ceil(high + margin)),
    )


def _text_clauses(values: pd.Series, column: str) -> list[dict[str, Any]]:
    """A value set, for low-cardinality text only."""
    distinct = sorted({str(v) for v in values})
    if len(distinct) <= _MAX_SET and len(values) >= 5 * len(distinct):
        return [
            _clause(
                "expect_column_values_to_be_in_set", "critical", column=column, value_set=distinct
            )
        ]
    return []


def _column_clauses(
    series: pd.Series, column: str, policy: PiiPolicy | None, key: str | None
) -> list[dict[str, Any]]:
    rule = policy.columns.get(column) if policy else None
    clauses = _null_clauses(series, column)
    values = series.dropna()
    if column == key and values.is_unique:
        clauses.append(_clause("expect_column_values_to_be_unique", "critical", column=column))
    if isinstance(rule, HashRule):
        regex = f"^{re.escape(rule.prefix)}[0-9a-f]{{24}}$"
        clauses.append(
            _clause("expect_column_values_to_match_regex", "critical", column=column, regex=regex)
        )
        return clauses
    if isinstance(rule, ScanRule) or values.empty or column == key:
        return clauses
    if pd.api.types.is_bool_dtype(values):
        return clauses
    if pd.api.types.is_numeric_dtype(values):
        return [*clauses, _numeric_clause(values, column)]
    if pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
        return [*clauses, *_text_clauses(values, column)]
    return clauses
