"""Profiling a new source file: its columns with sniffed types, its rows, a likely key.

DuckDB sniffs the types; a text column that is numbers or dates but for a few dirty cells is
typed as such (the ingest contract quarantines those rows instead).
"""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipeline.declarations.dataset import DEFAULT_DATE_FORMATS, NAME_PATTERN
from pipeline.errors import GovernError
from pipeline.storage.sql import quote_literal


@dataclass
class SourceProfile:
    name: str
    path: Path
    columns: dict[str, str]
    frame: pd.DataFrame
    key: str | None
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)


def _column_type(duckdb_type: str) -> str:
    upper = duckdb_type.upper()
    if upper in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER"):
        return "BIGINT"
    if upper in ("DOUBLE", "FLOAT", "REAL") or upper.startswith("DECIMAL"):
        return "DOUBLE"
    if upper in ("DATE", "BOOLEAN"):
        return upper
    if upper.startswith("TIMESTAMP"):
        return "TIMESTAMP"
    return "VARCHAR"


def read_source(path: Path) -> tuple[dict[str, str], pd.DataFrame]:
    """Columns with sniffed types, and the rows DuckDB can read, for profiling."""
    if not path.is_file():
        raise GovernError(f"{path}: file not found")
    reader = (
        f"read_parquet({quote_literal(str(path))})"
        if path.suffix == ".parquet"
        else f"read_csv({quote_literal(str(path))}, store_rejects=true, sample_size=-1)"
    )
    with duckdb.connect() as conn:
        described = conn.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
        frame = conn.execute(f"SELECT * FROM {reader}").df()
    columns = {}
    for name, duckdb_type, *_ in described:
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            raise GovernError(f"{path}: column {name!r} is not a plain identifier; rename it")
        columns[name] = _column_type(duckdb_type)
        if columns[name] == "VARCHAR":
            columns[name] = _refine_text_type(frame[name])
    return columns, frame


def _refine_text_type(series: pd.Series) -> str:
    """A text column that is numbers or dates but for a few dirty cells: type it as such.

    DuckDB's sniffer falls back to VARCHAR for a column with one bad value; the ingest
    contract quarantines those rows instead, and the column keeps its real type.
    """
    values = series.dropna().astype(str).str.strip()
    values = values[values != ""]
    if values.empty:
        return "VARCHAR"
    numbers = pd.to_numeric(values, errors="coerce")
    if values.str.match(r"^0\d").any():
        return "VARCHAR"  # leading zeros (zip codes, phone numbers): text, not a number
    if numbers.notna().mean() >= 0.95:
        whole = numbers.dropna()
        return (
            "BIGINT"
            if (whole == whole.round()).all() and not values.str.contains(r"[.eE]").any()
            else "DOUBLE"
        )
    parsed = pd.Series(False, index=values.index)
    for fmt in DEFAULT_DATE_FORMATS:
        parsed |= pd.to_datetime(values, format=fmt, errors="coerce").notna()
    return "DATE" if parsed.mean() >= 0.9 else "VARCHAR"


def guess_key(columns: dict[str, str], frame: pd.DataFrame) -> str | None:
    for name in columns:
        if (
            re.search(r"(^|_)id$", name.lower())
            and frame[name].notna().all()
            and frame[name].is_unique
        ):
            return name
    return None


def source_name(stem: str, taken: set[str]) -> str:
    name = re.sub(r"[^a-z0-9_]", "_", stem.lower()).strip("_") or "source"
    name = name if re.match(NAME_PATTERN, name) else f"s_{name}"
    base, counter = name, 2
    while name in taken:
        name, counter = f"{base}_{counter}", counter + 1
    taken.add(name)
    return name
