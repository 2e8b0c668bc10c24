"""Quoting for the few SQL strings built from declared names (never from row values)."""


def quote_ident(name: str) -> str:
    """A DuckDB/PostgreSQL quoted identifier: ``"name"`` with inner quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A SQL string literal with inner single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def qualified(schema: str, table: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(table)}"
