"""Ingest: a raw CSV/Parquet file into a typed DuckDB table, losing nothing.

DuckDB reads every field as text first (rows it cannot split go to its reject table with their
line number), then types are normalized in SQL: stray whitespace trimmed, empty strings made
NULL, dates parsed from several formats. A row whose field cannot be typed, and an exact
duplicate of an earlier row, go to the quarantine table with line number and reason. The
invariant ``rows_in == rows_loaded + rows_rejected`` holds by construction and is re-checked.
"""

import codecs
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.declarations.dataset import SourceSpec
from pipeline.errors import IngestError
from pipeline.storage.sql import quote_ident, quote_literal

QUARANTINE_COLUMNS = "line BIGINT, reason VARCHAR, column_name VARCHAR, raw VARCHAR"


@dataclass(frozen=True)
class IngestReport:
    """What happened to one source file; holds counts and names, never a raw value."""

    source: str
    path: str
    sha256: str
    size_bytes: int
    rows_in: int
    rows_loaded: int
    rows_rejected: int
    reject_reasons: dict[str, int] = field(default_factory=dict)
    reject_columns: dict[str, int] = field(default_factory=dict)
    schema: list[tuple[str, str]] = field(default_factory=list)

    @property
    def reject_fraction(self) -> float:
        return self.rows_rejected / self.rows_in if self.rows_in else 0.0

    @property
    def invariant_holds(self) -> bool:
        return self.rows_in == self.rows_loaded + self.rows_rejected


def file_sha256(path: Path) -> str:
    """The file's sha256, exactly as ``sha256sum`` prints it."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_readable(path: Path, spec: SourceSpec) -> None:
    """Fail early, and clearly, on a file that cannot be ingested at all."""
    if not path.exists():
        raise IngestError(
            f"{path}: source file not found; check the path in the declaration "
            "or pass --source NAME=PATH"
        )
    if path.stat().st_size == 0:
        raise IngestError(f"{path}: the file is empty; expected a header line and rows")
    if spec.file_format == "csv":
        _check_csv_header(path, spec)


def _check_csv_header(path: Path, spec: SourceSpec) -> None:
    with path.open("rb") as handle:
        first = handle.readline()
    if first.startswith(codecs.BOM_UTF8):
        first = first[len(codecs.BOM_UTF8) :]
    try:
        header_line = first.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"{path}: line 1: not UTF-8 ({exc.reason}); re-encode the file as UTF-8"
        ) from None
    header = [name.strip().strip('"') for name in header_line.split(spec.delimiter)]
    expected = list(spec.columns)
    if header == expected:
        return
    if len(header) == 1 and len(expected) > 1:
        raise IngestError(
            f"{path}: line 1: found one column {header[0][:40]!r}; expected "
            f"{len(expected)} separated by {spec.delimiter!r} (wrong delimiter?)"
        )
    missing = [c for c in expected if c not in header]
    extra = [c for c in header if c not in expected]
    details = []
    if missing:
        details.append(f"missing columns {missing}")
    if extra:
        details.append(f"unexpected columns {extra}")
    if not details:
        details.append(f"columns out of order: {header}")
    raise IngestError(
        f"{path}: line 1 (header): {'; '.join(details)}. Update the source's "
        "columns in its dataset declaration, or fix the file."
    )


def ingest_to_table(
    conn: duckdb.DuckDBPyConnection,
    source: str,
    spec: SourceSpec,
    path: Path,
    table: str,
    quarantine_table: str,
) -> IngestReport:
    """Load ``path`` into ``table`` and its rejects into ``quarantine_table`` (both replaced)."""
    check_readable(path, spec)
    sha256 = file_sha256(path)
    conn.execute("CREATE OR REPLACE TEMP TABLE _quarantine (" + QUARANTINE_COLUMNS + ")")
    rows_text = _read_as_text(conn, spec, path)
    rows_in = rows_text + _count(conn, "_quarantine")
    _type_rows(conn, spec)
    conn.execute(
        f"CREATE OR REPLACE TABLE {table} AS SELECT * EXCLUDE (_line) FROM _typed ORDER BY _line"
    )
    conn.execute(
        f"CREATE OR REPLACE TABLE {quarantine_table} AS SELECT * FROM _quarantine ORDER BY line"
    )
    rows_loaded = _count(conn, table)
    reasons = dict(
        conn.execute(
            f"SELECT reason, count(*) FROM {quarantine_table} GROUP BY 1 ORDER BY 1"
        ).fetchall()
    )
    columns = dict(
        conn.execute(
            f"SELECT column_name, count(*) FROM {quarantine_table} WHERE "
            "column_name IS NOT NULL GROUP BY 1 ORDER BY 1"
        ).fetchall()
    )
    schema = [(r[0], r[1]) for r in conn.execute(f"DESCRIBE {table}").fetchall()]
    for temp in ("_text", "_typed", "_quarantine"):
        conn.execute(f"DROP TABLE IF EXISTS {temp}")
    return IngestReport(
        source=source,
        path=str(path),
        sha256=sha256,
        size_bytes=path.stat().st_size,
        rows_in=rows_in,
        rows_loaded=rows_loaded,
        rows_rejected=sum(reasons.values()),
        reject_reasons=reasons,
        reject_columns=columns,
        schema=schema,
    )


def _count(conn: duckdb.DuckDBPyConnection, table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def _read_as_text(conn: duckdb.DuckDBPyConnection, spec: SourceSpec, path: Path) -> int:
    """Read every field as VARCHAR into ``_text`` with a ``_line`` number; returns its rows."""
    cols = list(spec.columns)
    if spec.file_format == "parquet":
        casts = ", ".join(f"CAST({quote_ident(c)} AS VARCHAR) AS {quote_ident(c)}" for c in cols)
        conn.execute(
            f"CREATE OR REPLACE TEMP TABLE _text AS SELECT {casts}, "
            f"row_number() OVER () AS _line FROM read_parquet({quote_literal(str(path))})"
        )
        return _count(conn, "_text")
    types = "{" + ", ".join(f"{quote_literal(c)}: 'VARCHAR'" for c in cols) + "}"
    conn.execute("DROP TABLE IF EXISTS _rejects")
    conn.execute("DROP TABLE IF EXISTS _reject_scans")
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE _text_raw AS SELECT * FROM read_csv("
        f"{quote_literal(str(path))}, header=true, delim={quote_literal(spec.delimiter)}, "
        f"columns={types}, store_rejects=true, rejects_table='_rejects', "
        "rejects_scan='_reject_scans', strict_mode=true, auto_detect=false, quote='\"', "
        "escape='\"', encoding='utf-8')"
    )
    _quarantine_malformed_lines(conn)
    rejected = [r[0] for r in conn.execute("SELECT line FROM _quarantine ORDER BY 1").fetchall()]
    accepted = _count(conn, "_text_raw")
    conn.execute("CREATE OR REPLACE TEMP TABLE _line_map (_ord BIGINT, _line BIGINT)")
    if accepted:
        conn.executemany(
            "INSERT INTO _line_map VALUES (?, ?)",
            list(enumerate(_accepted_lines(accepted, rejected), start=1)),
        )
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE _text AS SELECT t.* EXCLUDE (_ord), m._line FROM "
        "(SELECT *, row_number() OVER () AS _ord FROM _text_raw) t JOIN _line_map m USING (_ord)"
    )
    conn.execute("DROP TABLE _text_raw")
    conn.execute("DROP TABLE _line_map")
    return accepted


def _quarantine_malformed_lines(conn: duckdb.DuckDBPyConnection) -> None:
    """One quarantine row per physical line DuckDB could not split into fields.

    A quote left open swallows the lines after it into one reject: each swallowed line is
    quarantined on its own so the line count still adds up and nothing is lost silently.
    """
    rejects = conn.execute(
        "SELECT line, lower(CAST(min(error_type) AS VARCHAR)), min(csv_line) FROM _rejects "
        "GROUP BY line ORDER BY line"
    ).fetchall()
    rows = []
    for line, error_type, csv_line in rejects:
        physical = (csv_line or "").rstrip("\n").split("\n")
        for offset, text in enumerate(physical):
            reason = f"malformed line: {error_type}"
            if offset:
                reason += f" (inside a quote opened on line {line})"
            rows.append((line + offset, reason, None, text.rstrip("\r")))
    if rows:
        conn.executemany("INSERT INTO _quarantine VALUES (?, ?, ?, ?)", rows)


def _accepted_lines(accepted: int, rejected: list[int]) -> list[int]:
    """Line numbers of accepted records: data lines from 2 on, minus the rejected ones.

    DuckDB keeps the file's row order; this is exact for files with one record per line, which
    the ingest contract expects (free text must not hold raw newlines).
    """
    skip = set(rejected)
    lines: list[int] = []
    line = 1
    while len(lines) < accepted:
        line += 1
        if line not in skip:
            lines.append(line)
    return lines


def _typed_expression(column: str, column_type: str, date_formats: list[str]) -> str:
    text = f"NULLIF(trim({quote_ident(column)}), '')"
    if column_type == "VARCHAR":
        return text
    if column_type == "DATE":
        parsed = ", ".join(f"TRY_STRPTIME({text}, {quote_literal(f)})" for f in date_formats)
        return f"CAST(COALESCE({parsed}) AS DATE)"
    if column_type == "TIMESTAMP":
        return f"TRY_CAST({text} AS TIMESTAMP)"
    return f"TRY_CAST({text} AS {column_type})"


def _type_rows(conn: duckdb.DuckDBPyConnection, spec: SourceSpec) -> None:
    """Type ``_text`` into ``_typed``; untypable rows and exact duplicates to ``_quarantine``."""
    selects, failures = [], []
    for column, column_type in spec.columns.items():
        expr = _typed_expression(column, column_type, spec.date_formats)
        selects.append(f"{expr} AS {quote_ident(column)}")
        raw_text = f"NULLIF(trim({quote_ident(column)}), '')"
        failures.append(
            f"CASE WHEN {raw_text} IS NOT NULL AND ({expr}) IS NULL THEN "
            f"{quote_literal(column)} END"
        )
    raw_fields = ", ".join(f"{quote_literal(c)}: {quote_ident(c)}" for c in spec.columns)
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE _cast AS SELECT {', '.join(selects)}, _line, "
        f"to_json({{{raw_fields}}}) AS _raw, "
        f"concat_ws(',', {', '.join(failures)}) AS _bad FROM _text"
    )
    conn.execute(
        "INSERT INTO _quarantine SELECT _line, 'unparsable value', split_part(_bad, ',', 1), "
        "_raw FROM _cast WHERE _bad <> ''"
    )
    cols = ", ".join(quote_ident(c) for c in spec.columns)
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE _ranked AS SELECT *, row_number() OVER "
        f"(PARTITION BY {cols} ORDER BY _line) AS _copy, min(_line) OVER (PARTITION BY {cols}) "
        "AS _first FROM _cast WHERE _bad = ''"
    )
    conn.execute(
        "INSERT INTO _quarantine SELECT _line, 'duplicate of line ' || _first, NULL, _raw "
        "FROM _ranked WHERE _copy > 1"
    )
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE _typed AS SELECT {cols}, _line FROM _ranked WHERE _copy = 1"
    )
    for temp in ("_cast", "_ranked"):
        conn.execute(f"DROP TABLE {temp}")
