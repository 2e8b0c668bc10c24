"""The feature SQL proposed for a new dataset: the target's source joined with aggregates of
the others, over the redacted tables."""

from pipeline.scaffold.profile import SourceProfile
from pipeline.storage.sql import quote_ident


def propose_feature_sql(
    main: SourceProfile, others: list[tuple[SourceProfile, str]], target: str
) -> tuple[str, list[str], list[str]]:
    """Feature SQL over the redacted tables, and its numeric and categorical features."""
    numeric, categorical, select = [], [], []
    for column, column_type in main.columns.items():
        rule = main.rules[column]
        if column == target or rule["action"] != "keep":
            continue
        if column_type in ("BIGINT", "DOUBLE", "BOOLEAN"):
            select.append(f"CAST(m.{quote_ident(column)} AS DOUBLE) AS {quote_ident(column)}")
            numeric.append(column)
        elif column_type == "VARCHAR":
            select.append(f"m.{quote_ident(column)}")
            categorical.append(column)
    joins = []
    for index, (profile, join_key) in enumerate(others, start=1):
        alias, count = f"a{index}", f"n_{profile.name}"
        aggregates = [f"count(*) AS {quote_ident(count)}"]
        numeric.append(count)
        select.append(f"coalesce({alias}.{quote_ident(count)}, 0) AS {quote_ident(count)}")
        for column, column_type in profile.columns.items():
            if column_type in ("BIGINT", "DOUBLE") and profile.rules[column]["action"] == "keep":
                mean = f"avg_{profile.name}_{column}"
                aggregates.append(f"avg({quote_ident(column)}) AS {quote_ident(mean)}")
                select.append(f"{alias}.{quote_ident(mean)}")
                numeric.append(mean)
        joins.append(
            f"LEFT JOIN (SELECT {quote_ident(join_key)}, {', '.join(aggregates)} "
            f"FROM {{{profile.name}}} GROUP BY {quote_ident(join_key)}) AS {alias} "
            f"USING ({quote_ident(join_key)})"
        )
    key = [f"m.{quote_ident(main.key)}"] if main.key else []
    columns = ",\n  ".join(
        [*key, *select, f"CAST(m.{quote_ident(target)} AS INTEGER) AS {quote_ident(target)}"]
    )
    sql = (
        f"SELECT\n  {columns}\nFROM {{{main.name}}} AS m\n"
        + "\n".join(joins)
        + f"\nWHERE m.{quote_ident(target)} IS NOT NULL\n"
    )
    return sql, numeric, categorical
