"""Ingest: a raw CSV/Parquet file into a typed DuckDB table, losing nothing.

DuckDB reads every field as text first (records it cannot split go to its reject table), and
one SQL pass types that stream: stray whitespace trimmed, empty strings made NULL, dates parsed
from several formats. A row whose field cannot be typed, and an exact duplicate of an earlier
row, go to the quarantine table with line number and reason. The invariant
``rows_in == rows_loaded + rows_rejected`` holds by construction and is re-checked.

The rows are written once, typed, straight into the target table, in file order (DuckDB keeps
insertion order, so a row's ``rowid`` is its ordinal among the records it accepted); the few
rows taken out again (untypable, duplicate) are found by set operations, and their line numbers
are mapped in SQL (``pipeline.ingest.lines``). No Python loops over rows, and DuckDB, not
Python, holds the data, so a file larger than memory streams through.
"""

import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.declarations.dataset import SourceSpec
from pipeline.errors import IngestError
from pipeline.ingest.lines import LineMap, load_reject_records, prepare, quarantine_rejects
from pipeline.ingest.readable import check_readable, unreadable
from pipeline.ingest.scan import file_digest, last_line
from pipeline.storage.sql import quote_ident, quote_literal

QUARANTINE_COLUMNS = "line BIGINT, reason VARCHAR, column_name VARCHAR, raw VARCHAR"
# A strptime directive (%Y, %-d, %%); what is left of a format once they are removed must
# appear in a value for it to parse.
_DIRECTIVE = re.compile(r"%-?[A-Za-z%]")
# Types whose DuckDB parse (TRY_CAST, TRY_STRPTIME) skips surrounding whitespace itself: their
# text is typed untrimmed, trim() runs only to tell a blank value from a wrong one.
_SELF_TRIMMING = frozenset({"BIGINT", "INTEGER", "DOUBLE", "DATE"})
# DuckDB's reject tables, of the read and of the re-read (``_csv_relation``).
_DUCKDB_REJECTS = ("_rejects", "_reject_scans", "_reread_rejects", "_reread_scans")
_TEMP_TABLES = (
    "_quarantine",
    "_reject_records",
    "_reject_lines",
    "_multi_line",
    "_gaps",
    "_shift_sums",
    "_duplicates",
    *_DUCKDB_REJECTS,
)


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
    return file_digest(path)[0]


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
    conn.execute("CREATE OR REPLACE TEMP TABLE _quarantine (" + QUARANTINE_COLUMNS + ")")
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Python reads the file's bytes while DuckDB works (both release the GIL): its last
        # line during DuckDB's read, its hash during the rest, which keeps fewer cores busy.
        last = pool.submit(last_line, path)
        read = _read_parquet if spec.file_format == "parquet" else _read_csv
        rows_read = read(conn, spec, path, table)
        digest = pool.submit(file_digest, path)
        rows_in, line_map = _number_lines(conn, spec, path, rows_read, last)
        _take_out_untypable_and_duplicates(conn, spec, table, line_map)
        conn.execute(
            f"CREATE OR REPLACE TABLE {quarantine_table} AS SELECT * FROM _quarantine ORDER BY line"
        )
        conn.execute("; ".join(f"DROP TABLE IF EXISTS {temp}" for temp in _TEMP_TABLES))
        return _report(conn, source, path, digest.result(), rows_in, table, quarantine_table)


def _number_lines(
    conn: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    path: Path,
    rows_read: int,
    last: Future[int],
) -> tuple[int, LineMap]:
    """The rows in (records read plus lines of rejected records, quarantined here), and the
    map from a record's ordinal to its line."""
    if spec.file_format == "parquet":
        return rows_read, LineMap(header=0)
    breaks = f"SELECT {_line_breaks(list(spec.columns))} AS extra FROM "
    line_map = prepare(
        conn, rows_read, last.result(), path, breaks + _csv_relation(spec, path, "_reread")
    )
    return rows_read + quarantine_rejects(conn, line_map, rows_read, last.result()), line_map


def _report(
    conn: duckdb.DuckDBPyConnection,
    source: str,
    path: Path,
    digest: tuple[str, int],
    rows_in: int,
    table: str,
    quarantine_table: str,
) -> IngestReport:
    reasons: dict[str, int] = {}
    columns: dict[str, int] = {}
    for reason, column, count in conn.execute(
        f"SELECT reason, column_name, count(*) FROM {quarantine_table} GROUP BY ALL ORDER BY ALL"
    ).fetchall():
        reasons[reason] = reasons.get(reason, 0) + count
        if column is not None:
            columns[column] = columns.get(column, 0) + count
    return IngestReport(
        source=source,
        path=str(path),
        sha256=digest[0],
        size_bytes=digest[1],
        rows_in=rows_in,
        rows_loaded=_count(conn, table),
        rows_rejected=sum(reasons.values()),
        reject_reasons=reasons,
        reject_columns=columns,
        schema=[(r[0], r[1]) for r in conn.execute(f"DESCRIBE {table}").fetchall()],
    )


def _count(conn: duckdb.DuckDBPyConnection, table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def _csv_relation(spec: SourceSpec, path: Path, rejects: str) -> str:
    """SQL reading ``path`` with every field as text; rejects go to ``{rejects}_rejects``."""
    types = "{" + ", ".join(f"{quote_literal(c)}: 'VARCHAR'" for c in spec.columns) + "}"
    return (
        f"read_csv({quote_literal(str(path))}, header=true, "
        f"delim={quote_literal(spec.delimiter)}, columns={types}, store_rejects=true, "
        f"rejects_table='{rejects}_rejects', rejects_scan='{rejects}_scans', strict_mode=true, "
        "auto_detect=false, quote='\"', escape='\"', encoding='utf-8')"
    )


def _read_csv(conn: duckdb.DuckDBPyConnection, spec: SourceSpec, path: Path, table: str) -> int:
    """Read ``path`` into ``table``, typed; DuckDB's rejects into ``_reject_records``."""
    # DuckDB appends to a reject table left from an earlier read: start from none.
    conn.execute("; ".join(f"DROP TABLE IF EXISTS {t}" for t in _DUCKDB_REJECTS))
    rows = _type_into(conn, spec, path, _csv_relation(spec, path, ""), table)
    load_reject_records(conn, "_rejects")
    return rows


def _read_parquet(conn: duckdb.DuckDBPyConnection, spec: SourceSpec, path: Path, table: str) -> int:
    """Read ``path`` into ``table``, typed, after checking it has the declared columns."""
    source = f"read_parquet({quote_literal(str(path))})"
    try:
        present = {r[0] for r in conn.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    except duckdb.Error as exc:
        raise unreadable(path, exc) from None
    missing = [c for c in spec.columns if c not in present]
    if missing:
        raise IngestError(
            f"{path}: missing columns {missing}. Update the source's columns in its dataset "
            "declaration, or fix the file."
        )
    casts = ", ".join(
        f"CAST({quote_ident(c)} AS VARCHAR) AS {quote_ident(c)}" for c in spec.columns
    )
    return _type_into(conn, spec, path, f"(SELECT {casts} FROM {source})", table)


def _type_into(
    conn: duckdb.DuckDBPyConnection, spec: SourceSpec, path: Path, relation: str, table: str
) -> int:
    """Write ``relation`` (all text) into ``table`` typed, in one pass; returns its rows.

    Next to the typed columns: ``_bad``, the first column whose value does not parse as its
    type; ``_raw``, the row's text as JSON (only on such rows, for the quarantine).
    """
    trimmed, typed, failures, out = [], [], [], []
    for column, column_type in spec.columns.items():
        raw, value = quote_ident(column), quote_ident(f"_v_{column}")
        if column_type in _SELF_TRIMMING:
            text, filled = raw, f"trim({raw}) <> ''"
        else:
            text = quote_ident(f"_t_{column}")
            trimmed.append(f"{_trimmed(raw)} AS {text}")
            filled = f"{text} IS NOT NULL"
        typed.append(f"{_typed_expression(text, column_type, spec.date_formats)} AS {value}")
        out.append(f"{value} AS {raw}")
        if column_type != "VARCHAR":
            failures.append(
                f"CASE WHEN {value} IS NULL AND {filled} THEN {quote_literal(column)} END"
            )
    bad = f"COALESCE({', '.join(failures)})" if failures else "CAST(NULL AS VARCHAR)"
    raw_json = ", ".join(f"{quote_literal(c)}: {quote_ident(c)}" for c in spec.columns)
    try:
        return conn.execute(
            f"CREATE OR REPLACE TABLE {table} AS "
            f"WITH text AS (SELECT {', '.join(['*', *trimmed])} FROM {relation}), "
            f"typed AS (SELECT *, {', '.join(typed)} FROM text), "
            f"checked AS (SELECT *, {bad} AS _bad FROM typed) "
            f"SELECT {', '.join(out)}, _bad, CASE WHEN _bad IS NOT NULL "
            f"THEN to_json({{{raw_json}}}) END AS _raw FROM checked"
        ).fetchone()[0]
    except duckdb.Error as exc:
        raise unreadable(path, exc) from None


def _line_breaks(columns: list[str]) -> str:
    """SQL: the line breaks inside a row's values, counted only on rows that have any."""
    any_break = " OR ".join(f"contains({quote_ident(c)}, chr(10))" for c in columns)
    counts = " + ".join(
        f"coalesce(length({quote_ident(c)}) - length(replace({quote_ident(c)}, chr(10), '')), 0)"
        for c in columns
    )
    return f"CASE WHEN {any_break} THEN {counts} ELSE 0 END"


def _trimmed(raw: str) -> str:
    """SQL: ``raw`` without surrounding spaces, NULL when empty. Values without such spaces,
    nearly all, skip trim(), which copies every string it is given."""
    return (
        f"CASE WHEN {raw} LIKE ' %' OR {raw} LIKE '% ' THEN NULLIF(trim({raw}), '') "
        f"ELSE NULLIF({raw}, '') END"
    )


def _typed_expression(text: str, column_type: str, date_formats: list[str]) -> str:
    """SQL typing ``text`` as ``column_type``; NULL if it is blank or does not parse."""
    if column_type == "VARCHAR":
        return text
    if column_type == "DATE":
        parsed = ", ".join(_date_attempt(text, f) for f in date_formats)
        return f"CAST(COALESCE({parsed}) AS DATE)"
    return f"TRY_CAST({text} AS {column_type})"


def _date_attempt(text: str, date_format: str) -> str:
    """One format's parse, skipped for values lacking the format's punctuation.

    A failed parse costs DuckDB about ten times a successful one, and most values fail every
    format but theirs; a value without the format's separators cannot match it anyway.
    """
    parse = f"TRY_STRPTIME({text}, {quote_literal(date_format)})"
    literal = _DIRECTIVE.sub("", date_format)
    marks = sorted({c for c in literal if not c.isalnum() and not c.isspace()})
    if not marks:
        return parse
    guard = " AND ".join(f"contains({text}, {quote_literal(m)})" for m in marks)
    return f"CASE WHEN {guard} THEN {parse} END"


def _take_out_untypable_and_duplicates(
    conn: duckdb.DuckDBPyConnection, spec: SourceSpec, table: str, line_map: LineMap
) -> None:
    """Quarantine, then delete from ``table``, untypable rows and repeats of earlier rows.

    Duplicates are sought only among the rows whose key (or, without one, whose hash of all
    values) repeats or is NULL, not by sorting every row. A duplicate's ``raw`` is its values
    as typed (equal to the first one's): keeping every row's text for it would mean a second
    copy of the file.
    """
    untypable = f"SELECT rowid + 1 AS _ord, _bad, _raw FROM {table} WHERE _bad IS NOT NULL"
    conn.execute(
        "INSERT INTO _quarantine SELECT line, 'unparsable value', _bad, _raw "
        f"FROM ({line_map(untypable)})"
    )
    cols = ", ".join(quote_ident(c) for c in spec.columns)
    key = quote_ident(spec.key) if spec.key else f"hash({cols})"
    values = ", ".join(
        f"{quote_literal(c)}: CAST({quote_ident(c)} AS VARCHAR)" for c in spec.columns
    )
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE _duplicates AS WITH repeated AS (SELECT rowid AS _rid "
        f"FROM {table} WHERE _bad IS NULL AND ({key} IN (SELECT {key} FROM {table} "
        f"WHERE _bad IS NULL GROUP BY 1 HAVING count(*) > 1) OR {key} IS NULL)) "
        f"SELECT _ord, _first, to_json({{{values}}}) AS _raw FROM (SELECT *, rowid + 1 AS _ord, "
        f"min(rowid + 1) OVER (PARTITION BY {cols}) AS _first FROM {table} "
        "WHERE rowid IN (SELECT _rid FROM repeated)) WHERE _ord > _first"
    )
    firsts = line_map("SELECT DISTINCT _first AS _ord FROM _duplicates")
    conn.execute(
        "INSERT INTO _quarantine SELECT d.line, 'duplicate of line ' || f.line, NULL, d._raw "
        f"FROM ({line_map('SELECT * FROM _duplicates')}) d JOIN ({firsts}) f "
        "ON f._ord = d._first"
    )
    conn.execute(
        f"DELETE FROM {table} WHERE _bad IS NOT NULL OR rowid + 1 IN (SELECT _ord FROM _duplicates)"
    )
    for helper in ("_bad", "_raw"):
        conn.execute(f"ALTER TABLE {table} DROP COLUMN {helper}")
