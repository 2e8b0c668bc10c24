"""Line numbers for quarantined rows, mapped in SQL from DuckDB's own row index.

DuckDB numbers what it reads in *rows*: the header is row 1, then each record and each empty
line takes one row, however many lines a quoted value spans. Its reject table gives the row of
each record it rejected, and it emits the records it accepted in file order, so the k-th
accepted record sits on the k-th row that is neither a rejected record nor an empty line (the
*holes*, summed up in ``_gaps``). A row's line is its row number plus the extra lines of every
multi-line record before it (the *shifts*, summed up in ``_shift_sums``). Both tables are small
(one entry per rejected record, empty line or multi-line record), so each mapping is one ASOF
join, or nothing when the table is empty: no Python touches a row.

Most files have no empty line and no record spanning lines: then the records account for every
line of the file (``scan.last_line``). Otherwise the accepted records spanning lines come
from a second read of the file, the empty lines from a second pass over its bytes
(``scan.empty_lines``), and a sweep over those few positions places the empty lines among the
records (``_sweep``): Python work per empty line or multi-line record, never per row.

Temporary tables, on the caller's connection: ``_reject_records`` (one row per rejected record:
row, reason, text, extra lines), ``_multi_line``, ``_gaps``, ``_shift_sums``, ``_reject_lines``.
"""

from collections import deque
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from pipeline.ingest.scan import empty_lines

# The reason of a line swallowed by a quote left open: SQL, ``{first}`` the line it opened on.
SWALLOWED = "' (inside a quote opened on line ' || {first} || ')'"


@dataclass(frozen=True)
class LineMap:
    """SQL giving an accepted record's line from its ordinal (``_ord``, 1-based, file order).

    ``header``: lines before the first record (1 for a CSV file; 0 for Parquet, whose "lines"
    are row numbers). ``gaps`` and ``shifts``: whether ``_gaps`` and ``_shift_sums`` hold
    anything; an empty one is not joined.
    """

    header: int
    gaps: bool = False
    shifts: bool = False

    def __call__(self, ordinals: str) -> str:
        """``ordinals`` (a query with ``_ord``) plus its ``row`` and ``line``."""
        return self.lines(self.rows(ordinals))

    def rows(self, ordinals: str) -> str:
        """``ordinals`` plus the DuckDB ``row`` of that record."""
        if not self.gaps:
            return f"SELECT *, _ord + {self.header} AS row FROM ({ordinals})"
        return (
            f"SELECT o.*, o._ord + {self.header} + coalesce(g.before, 0) AS row "
            f"FROM ({ordinals}) o ASOF LEFT JOIN _gaps g ON o._ord >= g.gap"
        )

    def lines(self, rows: str) -> str:
        """``rows`` (a query with ``row``) plus the ``line`` that row starts on."""
        if not self.shifts:
            return f"SELECT *, row AS line FROM ({rows})"
        return (
            f"SELECT r.*, r.row + coalesce(s.shift, 0) AS line FROM ({rows}) r "
            "ASOF LEFT JOIN _shift_sums s ON r.row > s.row"
        )


def load_reject_records(conn: duckdb.DuckDBPyConnection, rejects_table: str) -> None:
    """``_reject_records``: one row per record DuckDB rejected, with its text and extra lines.

    DuckDB's stored text of a CRLF file's record starts with the line break before it, and a
    quote left open ends with the file's last line breaks: both are trimmed, as a record never
    starts or ends with a line of its own.
    """
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE _reject_records AS SELECT row, reason, text, "
        "length(text) - length(replace(text, chr(10), '')) AS extra FROM (SELECT line AS row, "
        "'malformed line: ' || lower(CAST(min(error_type) AS VARCHAR)) AS reason, "
        "regexp_replace(regexp_replace(any_value(csv_line), '^[\\r\\n]+', ''), "
        f"'[\\r\\n]+$', '') AS text FROM {rejects_table} GROUP BY line)"
    )


def prepare(
    conn: duckdb.DuckDBPyConnection,
    accepted: int,
    last_line: int,
    path: Path,
    line_breaks: str,
) -> LineMap:
    """The line map of ``accepted`` records read from the CSV file ``path``.

    ``line_breaks`` is a query giving, in file order, each accepted record's line breaks as
    ``extra``: it re-reads the file, and runs only when the records account for fewer lines
    than the file has. The rest are then empty lines, records spanning lines, or a quote left
    open to the end of the file (see ``quarantine_rejects``).
    """
    rejected, rejected_extra = conn.execute(
        "SELECT count(*), coalesce(sum(extra), 0) FROM _reject_records"
    ).fetchone()
    multi_line, empty_rows = 0, []
    if 1 + accepted + rejected + rejected_extra < last_line:
        multi_line = conn.execute(
            "CREATE OR REPLACE TEMP TABLE _multi_line AS SELECT * FROM (SELECT row_number() "
            f"OVER () AS _ord, extra FROM ({line_breaks})) WHERE extra > 0"
        ).fetchone()[0]
        empty = empty_lines(path, last_line)
        if empty:
            empty_rows = _empty_rows(conn, empty)
    line_map = LineMap(header=1, gaps=bool(rejected or empty_rows))
    if line_map.gaps:
        conn.execute(
            "CREATE OR REPLACE TEMP TABLE _gaps AS SELECT row - rank AS gap, max(rank) AS before "
            "FROM (SELECT row, row_number() OVER (ORDER BY row) AS rank FROM (SELECT row FROM "
            "_reject_records UNION ALL SELECT unnest(?::BIGINT[]))) GROUP BY gap",
            [empty_rows],
        )
    if not (rejected_extra or multi_line):
        return line_map
    accepted_shifts = (
        f"UNION ALL SELECT row, extra FROM ({line_map.rows('SELECT * FROM _multi_line')})"
        if multi_line
        else ""
    )
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE _shift_sums AS SELECT row, sum(extra) OVER (ORDER BY row) "
        "AS shift FROM (SELECT row, extra FROM _reject_records WHERE extra > 0 "
        f"{accepted_shifts})"
    )
    return LineMap(header=1, gaps=line_map.gaps, shifts=True)


def quarantine_rejects(
    conn: duckdb.DuckDBPyConnection, line_map: LineMap, accepted: int, last_line: int
) -> int:
    """Into ``_quarantine``: every line of every rejected record, each on its own line number;
    returns how many.

    A quote left open swallows the lines after it into one record: each is quarantined on its
    own, so the count adds up. DuckDB keeps only a record's first characters; a quote left open
    to the end of the file also covers the lines past them, quarantined without text.
    """
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE _reject_lines AS SELECT row, line AS first, reason, "
        "unnest(string_split(text, chr(10))) AS piece, "
        "generate_subscripts(string_split(text, chr(10)), 1) - 1 AS step "
        f"FROM ({line_map.lines('SELECT row, reason, text FROM _reject_records')})"
    )
    quarantined = conn.execute(
        "INSERT INTO _quarantine SELECT first + step, CASE WHEN step = 0 THEN reason ELSE "
        f"reason || {SWALLOWED.format(first='first')} END, NULL, rtrim(piece, chr(13)) "
        "FROM _reject_lines"
    ).fetchone()[0]
    if 1 + accepted + quarantined >= last_line:
        return quarantined  # every line is accounted for
    return quarantined + _quarantine_open_quote_tail(conn, line_map, accepted, last_line)


def _quarantine_open_quote_tail(
    conn: duckdb.DuckDBPyConnection, line_map: LineMap, accepted: int, last_line: int
) -> int:
    """The lines past the text DuckDB kept of a quote left open, when that quote opens the
    file's last record and lines follow it; returns how many."""
    last = conn.execute(
        "SELECT row, first, reason, max(first + step) AS till FROM _reject_lines "
        "GROUP BY ALL ORDER BY row DESC LIMIT 1"
    ).fetchone()
    if last is None or last[3] >= last_line:
        return 0
    row, first, reason, till = last
    last_accepted = line_map.rows(f"SELECT {accepted} AS _ord")
    if conn.execute(f"SELECT row FROM ({last_accepted})").fetchone()[0] > row:
        return 0
    return conn.execute(
        f"INSERT INTO _quarantine SELECT range, ? || {SWALLOWED.format(first='?')}, NULL, NULL "
        "FROM range(?, ?)",
        [reason, first, till + 1, last_line + 1],
    ).fetchone()[0]


def _empty_rows(conn: duckdb.DuckDBPyConnection, empty: list[int]) -> list[int]:
    """DuckDB rows of the empty lines that are not inside a multi-line record's quotes."""
    rejected = conn.execute(
        "SELECT row, extra FROM _reject_records WHERE extra > 0 ORDER BY row"
    ).fetchall()
    accepted = conn.execute("SELECT _ord, extra FROM _multi_line ORDER BY _ord").fetchall()
    gaps = conn.execute(
        "SELECT row - row_number() OVER (ORDER BY row) AS gap FROM _reject_records ORDER BY row"
    ).fetchnumpy()["gap"]
    return _sweep(deque(empty), deque(rejected), deque(accepted), np.asarray(gaps))


def _sweep(
    empty: deque[int],
    rejected: deque[tuple[int, int]],
    accepted: deque[tuple[int, int]],
    gaps: np.ndarray,
) -> list[int]:
    """Walk the empty lines and the multi-line records in file order; the rows of the empty
    lines that lie between records (those inside a record's quotes are part of it)."""
    rows: list[int] = []
    shift = 0  # extra lines of the multi-line records passed so far
    while empty:
        record = _next_record(rejected, accepted, gaps, len(rows))
        if record is None or empty[0] - shift <= record[0]:
            rows.append(empty.popleft() - shift)
            continue
        row, extra, queue = record
        queue.popleft()
        start = row + shift
        shift += extra
        while empty and empty[0] <= start + extra:
            empty.popleft()
    return rows


def _next_record(
    rejected: deque[tuple[int, int]],
    accepted: deque[tuple[int, int]],
    gaps: np.ndarray,
    empty_rows: int,
) -> tuple[int, int, deque[tuple[int, int]]] | None:
    """The next multi-line record: its row, extra lines and the queue it comes from.

    An accepted record's row follows from its ordinal k: k + 1 (the header) + the empty rows
    before it + the rejected records before it, which are those whose gap (row minus rank
    among the rejected) is below k + 1 + the empty rows.
    """
    candidates = []
    if rejected:
        candidates.append((rejected[0][0], rejected[0][1], rejected))
    if accepted:
        ordinal, extra = accepted[0]
        base = ordinal + 1 + empty_rows
        candidates.append((base + int(np.searchsorted(gaps, base)), extra, accepted))
    return min(candidates, key=lambda candidate: candidate[0], default=None)
