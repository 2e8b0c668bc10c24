"""Column-level lineage of the feature SQL: which redacted columns feed each feature.

sqlglot traces each output column of the query (through CTEs and aggregates) back to the
columns of the tables it reads; the result becomes Dagster's ``dagster/column_lineage``.
"""

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.lineage import lineage


def feature_column_lineage(
    sql: str, schemas: dict[str, dict[str, str]], columns: list[str]
) -> dict[str, list[tuple[str, str]]]:
    """For each output column, the (source, column) pairs of ``redacted.<source>`` it reads."""
    schema = {"redacted": {source: dict(cols) for source, cols in schemas.items()}}
    parsed = sqlglot.parse_one(sql, dialect="duckdb")
    result: dict[str, list[tuple[str, str]]] = {}
    for column in columns:
        try:
            node = lineage(column, parsed, schema=schema, dialect="duckdb")
        except SqlglotError:
            continue
        deps = set()
        for leaf in node.walk():
            if leaf.downstream or not isinstance(leaf.source, exp.Table):
                continue
            name = leaf.name.split(".")[-1]
            if name in schemas.get(leaf.source.name, {}):
                deps.add((leaf.source.name, name))
        result[column] = sorted(deps)
    return result
