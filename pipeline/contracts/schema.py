"""The columns each stage will produce, known at load time from the declarations alone.

A redacted table's columns follow from its source's declared columns and its policy; the
feature table's follow from running ``DESCRIBE`` on the feature SQL against empty redacted
tables, in a sandbox that can reach nothing else, once the SQL has passed the static check of
``pipeline.contracts.feature_sql``. So a suite, a feature SQL or a model that names a column
that will not exist fails when the code location loads, not halfway through a run.
"""

import duckdb

from pipeline.contracts.feature_sql import check_feature_sql
from pipeline.declarations.dataset import DatasetSpec, SourceSpec
from pipeline.errors import DeclarationError
from pipeline.privacy.policy import DropRule, GeneralizeRule, KeepRule, PiiPolicy
from pipeline.storage.sandbox import empty_sandbox


def redacted_schema(policy: PiiPolicy, source: SourceSpec) -> dict[str, str]:
    """Column name -> DuckDB type of ``redacted.<source>``."""
    schema = {}
    for name, rule in policy.columns.items():
        if isinstance(rule, DropRule):
            continue
        if isinstance(rule, KeepRule):
            schema[name] = source.columns.get(name, "VARCHAR")
        elif isinstance(rule, GeneralizeRule) and rule.to == "year":
            schema[name] = "BIGINT"
        else:
            schema[name] = "VARCHAR"
    return schema


def feature_schema(
    dataset: DatasetSpec, sql: str, schemas: dict[str, dict[str, str]]
) -> dict[str, str]:
    """Column name -> type of the feature table, by describing the SQL on empty tables.

    The SQL must first pass the static check (one SELECT over the redacted tables); the
    DESCRIBE then runs in a locked sandbox holding only the dataset's empty redacted tables.
    """
    check_feature_sql(dataset.name, sql, list(dataset.sources))
    with empty_sandbox({source: schemas[source] for source in dataset.sources}) as conn:
        try:
            described = conn.execute(f"DESCRIBE {sql}").fetchall()
        except duckdb.Error as exc:
            raise DeclarationError(
                f"datasets/{dataset.name}.yaml: features.sql: {str(exc).splitlines()[0]}"
            ) from None
    return {row[0]: row[1] for row in described}


def check_model_columns(dataset: DatasetSpec, columns: dict[str, str]) -> None:
    missing = [c for c in [*dataset.model.features, dataset.model.target] if c not in columns]
    if missing:
        raise DeclarationError(
            f"datasets/{dataset.name}.yaml: model: columns {missing} are not produced by "
            f"features.sql (it gives {sorted(columns)})"
        )
