"""The feature SQL may read the dataset's redacted tables and nothing else: checked at load.

Only redacted data may reach features, yet the feature SQL is a declaration anyone can edit.
So before anything runs it, it is parsed by DuckDB's parser and by sqlglot (DuckDB dialect): it
must be exactly one query (a SELECT, WITH ... SELECT or a set operation of them); every table
it reads must be one of its own CTEs or a ``redacted.<source>`` table of the dataset (what
``{source}`` renders to); a table source must be a named table, not a table function or a file
name; and it may call no function that reads files or URLs or runs SQL given as a string. A
breach fails when the code location loads, naming the file, the key and the reason (SQL
identifiers only, never data). The sandbox of ``pipeline.storage.sandbox`` backs this up: what
slips past here still runs where it can reach nothing but the redacted tables.
"""

import re
from collections.abc import Iterable

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError

from pipeline.errors import DeclarationError
from pipeline.storage.warehouse import PLACEHOLDER

# Functions that read files or URLs (DuckDB core and common extensions); prefixes and suffixes
# catch the families (read_json_auto, parquet_metadata, sqlite_scan, postgres_attach...).
FILE_FUNCTIONS = frozenset({"glob", "sniff_csv", "st_read", "load_aws_credentials"})
FILE_FUNCTION_PREFIXES = (
    "read_",
    "parquet_",
    "iceberg_",
    "delta_",
    "sqlite_",
    "postgres_",
    "mysql_",
    "http_",
    "ducklake_",
)
FILE_FUNCTION_SUFFIXES = ("_scan", "_attach", "_query", "_execute")
# Functions that run SQL given as a string: the string escapes this check.
SQL_STRING_FUNCTIONS = frozenset({"query", "query_table", "json_execute_serialized_sql"})
# Table functions that generate rows from their arguments alone.
ROW_GENERATORS = frozenset({"range", "generate_series", "unnest"})
PATH_CHARS = re.compile(r"[/\\.:~]")


class UnsafeFeatureSql(Exception):
    """The reason a feature SQL is refused (without the file and key)."""


def check_feature_sql(dataset: str, sql: str, sources: Iterable[str]) -> None:
    """Raise a DeclarationError naming ``datasets/<dataset>.yaml: features.sql`` and why."""
    problem = feature_sql_problem(sql, sources)
    if problem:
        raise DeclarationError(f"datasets/{dataset}.yaml: features.sql: {problem}")


def feature_sql_problem(sql: str, sources: Iterable[str]) -> str | None:
    """Why the rendered feature SQL may not run, or None if it only reads redacted tables."""
    sources = list(sources)
    try:
        statement = _single_query(sql, sources)
        _check_functions(statement)
        _check_tables(statement, sources)
    except UnsafeFeatureSql as refused:
        return str(refused)
    return None


def _allowed(sources: list[str]) -> str:
    return ", ".join("{" + source + "}" for source in sources)


def _single_query(sql: str, sources: list[str]) -> exp.Expression:
    """The one query of ``sql``, as both sqlglot and DuckDB's own parser read it."""
    _check_placeholders(sql, sources)
    native = _duckdb_statements(sql)
    statements = [s for s in _parse(sql) if s is not None]
    if len(native) != 1 or len(statements) != 1:
        count = max(len(native), len(statements))
        raise UnsafeFeatureSql(f"has {count} statements: it must be one SELECT")
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        raise UnsafeFeatureSql(_not_a_select(_statement_kind(statement)))
    if native[0].type != duckdb.StatementType.SELECT:
        raise UnsafeFeatureSql(_not_a_select(native[0].type.name))
    return statement


def _check_placeholders(sql: str, sources: list[str]) -> None:
    """A ``{name}`` left after rendering names no source of the dataset."""
    unknown = sorted(set(PLACEHOLDER.findall(sql)) - set(sources))
    if unknown:
        raise UnsafeFeatureSql(
            f"names {', '.join('{' + u + '}' for u in unknown)}, not a source of this dataset: "
            f"only the redacted tables {_allowed(sources)} may be read"
        )


def _not_a_select(kind: str) -> str:
    article = "an" if kind[:1] in tuple("AEIOU") else "a"
    return f"is {article} {kind} statement, not a SELECT"


def _duckdb_statements(sql: str) -> list[duckdb.Statement]:
    """The statements DuckDB's own parser finds (parsed only, never run)."""
    with duckdb.connect() as conn:
        try:
            return conn.extract_statements(sql)
        except duckdb.Error as exc:
            raise UnsafeFeatureSql(
                f"cannot be parsed as DuckDB SQL ({str(exc).splitlines()[0]}): "
                "it must be one SELECT"
            ) from None


def _parse(sql: str) -> list[exp.Expression | None]:
    try:
        return sqlglot.parse(sql, dialect="duckdb")
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = f" at line {first.get('line')}, column {first.get('col')}" if first else ""
        raise UnsafeFeatureSql(
            f"cannot be parsed as DuckDB SQL{where}: it must be one SELECT"
        ) from None
    except SqlglotError as exc:
        raise UnsafeFeatureSql(
            f"cannot be parsed as DuckDB SQL ({str(exc).splitlines()[0]}): it must be one SELECT"
        ) from None


def _statement_kind(statement: exp.Expression) -> str:
    """ATTACH, COPY, SET, PRAGMA, INSTALL, LOAD, CALL...: the statement's keyword."""
    if isinstance(statement, exp.Command):
        return str(statement.this).split()[0].upper()
    return statement.key.upper()


def _function_name(function: exp.Func) -> str:
    if isinstance(function, exp.Anonymous):
        return str(function.name).lower()
    return function.sql_name().lower()


def _reads_files(name: str) -> bool:
    return (
        name in FILE_FUNCTIONS
        or name.startswith(FILE_FUNCTION_PREFIXES)
        or name.endswith(FILE_FUNCTION_SUFFIXES)
    )


def _check_functions(statement: exp.Expression) -> None:
    """No function that reads files or URLs, or runs SQL from a string, anywhere."""
    for function in statement.find_all(exp.Func):
        name = _function_name(function)
        if name in SQL_STRING_FUNCTIONS:
            raise UnsafeFeatureSql(f"calls {name}: feature SQL may not run SQL given as a string")
        if _reads_files(name):
            raise UnsafeFeatureSql(f"calls {name}: feature SQL may not read files or URLs")


def _cte_names(statement: exp.Expression) -> set[str]:
    return {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}


def _check_tables(statement: exp.Expression, sources: list[str]) -> None:
    """Every table source is a CTE of the query or one of the dataset's redacted tables."""
    ctes = _cte_names(statement)
    for table in statement.find_all(exp.Table):
        reason = _table_problem(table, ctes, sources)
        if reason:
            raise UnsafeFeatureSql(reason)


def _table_problem(table: exp.Table, ctes: set[str], sources: list[str]) -> str | None:
    if isinstance(table.this, exp.Func):
        name = _function_name(table.this)
        if name in ROW_GENERATORS:
            return None
        return (
            f"reads from the table function {name}(): only the redacted tables "
            f"{_allowed(sources)} and the query's own CTEs may be read"
        )
    if not isinstance(table.this, exp.Identifier):
        return f"reads from {type(table.this).__name__}: only named tables may be read"
    catalog, schema, name = table.catalog, table.db, table.name
    if not catalog and not schema and name.lower() in ctes:
        return None
    if not catalog and schema.lower() == "redacted" and name.lower() in sources:
        return None
    if not catalog and not schema and PATH_CHARS.search(name):
        return f"reads the file or URL {name!r}: feature SQL may not read files or URLs"
    label = ".".join(part for part in (catalog, schema, name) if part)
    return f"reads table {label}: only the redacted tables {_allowed(sources)} may be read"
