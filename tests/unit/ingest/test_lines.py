"""Every quarantined line carries its own line number, whatever the file's layout.

Empty lines, values quoted across lines, a BOM, CRLF line ends and a quote left open all move
the lines that follow them; DuckDB reports some of this and hides the rest (``lines.py``).
"""

import hashlib
import random
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipeline.declarations.dataset import SourceSpec
from pipeline.ingest import scan
from pipeline.ingest.reader import IngestReport, ingest_to_table

SPEC = SourceSpec(
    path=Path("orders.csv"), columns={"id": "BIGINT", "name": "VARCHAR", "amount": "DOUBLE"}
)
LAYOUTS = [
    pytest.param("\n", b"", id="lf"),
    pytest.param("\r\n", b"", id="crlf"),
    pytest.param("\n", b"\xef\xbb\xbf", id="bom"),
    pytest.param("\r\n", b"\xef\xbb\xbf", id="bom-crlf"),
]


def ingest(tmp_path: Path, lines: list[str], end: str, bom: bytes = b"") -> tuple:
    path = tmp_path / "orders.csv"
    path.write_bytes(bom + end.join(lines).encode() + end.encode())
    conn = duckdb.connect()
    report = ingest_to_table(conn, "orders", SPEC, path, "t", "q")
    quarantine = conn.execute("SELECT line, reason FROM q ORDER BY line").fetchall()
    loaded = conn.execute("SELECT id, name FROM t").fetchall()
    return report, quarantine, loaded


def counts(report: IngestReport) -> tuple[int, int, int]:
    return report.rows_in, report.rows_loaded, report.rows_rejected


@pytest.mark.parametrize(("end", "bom"), LAYOUTS)
def test_empty_lines_do_not_shift_the_lines_after_them(tmp_path: Path, end: str, bom: bytes):
    # given empty lines (which DuckDB skips without a trace) before the bad lines
    lines = [
        "id,name,amount",
        "1,A,1.0",
        "",  # line 3
        "2,B,x",  # line 4: unparsable amount
        "3,C,1,9",  # line 5: too many fields
        "",  # line 6
        "4,D,4.0",  # line 7
        "4,D,4.0",  # line 8: duplicate of line 7
    ]
    # when it is ingested
    report, quarantine, loaded = ingest(tmp_path, lines, end, bom)
    # then each bad line is quarantined on its own line number; empty lines are no rows
    assert quarantine == [
        (4, "unparsable value"),
        (5, "malformed line: too many columns"),
        (8, "duplicate of line 7"),
    ], quarantine
    assert counts(report) == (5, 2, 3), report
    assert [row[0] for row in loaded] == [1, 4], "file order is kept"


@pytest.mark.parametrize(("end", "bom"), LAYOUTS)
def test_values_quoted_across_lines_keep_later_line_numbers(tmp_path: Path, end: str, bom: bytes):
    # given a value quoted across two lines, and a rejected record spanning three
    lines = [
        "id,name,amount",
        '1,"Ann',  # line 2: one record on lines 2-3
        'Smith",1.0',
        "2,B,x",  # line 4: unparsable amount
        '3,"C',  # line 5: one record on lines 5-7, with too many fields
        "",
        'D",1,9',
        "4,D,4.0",  # line 8
        "4,D,4.0",  # line 9: duplicate of line 8
    ]
    # when it is ingested
    report, quarantine, loaded = ingest(tmp_path, lines, end, bom)
    # then the lines after each multi-line record keep their numbers
    assert quarantine == [
        (4, "unparsable value"),
        (5, "malformed line: too many columns"),
        (6, "malformed line: too many columns (inside a quote opened on line 5)"),
        (7, "malformed line: too many columns (inside a quote opened on line 5)"),
        (9, "duplicate of line 8"),
    ], quarantine
    assert counts(report) == (7, 2, 5), report
    assert loaded == [(1, f"Ann{end}Smith"), (4, "D")], "a quoted line break is kept"


@pytest.mark.parametrize(("end", "bom"), LAYOUTS)
def test_quote_left_open_quarantines_each_line_after_it(tmp_path: Path, end: str, bom: bytes):
    # given a quote opened on line 3 and never closed, an empty line inside it
    lines = ["id,name,amount", "1,A,1.0", '2,"B,2.0', "3,C,3.0", "", "4,D,4.0"]
    # when it is ingested
    report, quarantine, _ = ingest(tmp_path, lines, end, bom)
    # then line 3 and every line it swallowed are quarantined, each with its number
    inside = "malformed line: unquoted value (inside a quote opened on line 3)"
    assert quarantine == [
        (3, "malformed line: unquoted value"),
        (4, inside),
        (5, inside),
        (6, inside),
    ], quarantine
    assert counts(report) == (5, 1, 4), report


def test_quote_left_open_past_what_duckdb_keeps_still_counts_every_line(tmp_path: Path):
    # given a quote left open before 3,000 more lines (DuckDB keeps 10,000 characters of it)
    lines = ["id,name,amount", "1,A,1.0", '2,"B,2.0'] + [f"{i},N{i},1.5" for i in range(3, 3003)]
    # when it is ingested
    report, quarantine, _ = ingest(tmp_path, lines, "\n")
    # then every line is counted and quarantined on its own number, to the last one
    assert counts(report) == (3002, 1, 3001), report
    assert [line for line, _ in quarantine] == list(range(3, 3004))


def test_a_random_layout_numbers_every_bad_line(tmp_path: Path):
    # given many records in random shapes: fine, untypable, multi-line, malformed, empty lines
    rng = random.Random(7)
    for end in ("\n", "\r\n"):
        lines, expected = ["id,name,amount"], {}
        for n in range(1, 200):
            start = sum(line.count(end) + 1 for line in lines) + 1
            shape = rng.choice(["ok", "bad", "multi", "empty", "wide"])
            if shape == "empty":
                lines.append("")
                continue
            name = f'"x{end}y"' if shape == "multi" else "x"
            amount = "oops" if shape == "bad" else "1.5"
            lines.append(f"{n},{name},{amount}" + (",9" if shape == "wide" else ""))
            if shape in ("bad", "wide"):
                expected[n] = start
        # when it is ingested
        report, quarantine, _ = ingest(tmp_path, lines, end)
        # then each bad record is quarantined on the line it starts on
        assert [line for line, _ in quarantine] == sorted(expected.values()), end
        assert report.invariant_holds and report.rows_rejected == len(expected), report


def test_a_duplicate_names_its_first_line_and_keeps_its_values(tmp_path: Path):
    # given the same row twice, written differently (spaces, trailing zero)
    path = tmp_path / "orders.csv"
    path.write_text("id,name,amount\n1,Ann,2.50\n2,Bo,1.0\n1, Ann ,2.5\n")
    conn = duckdb.connect()
    ingest_to_table(conn, "orders", SPEC, path, "t", "q")
    # then the repeat is quarantined on its line, naming the first, with its values as loaded
    quarantine = conn.execute("SELECT line, reason, raw FROM q").fetchall()
    assert quarantine == [(4, "duplicate of line 2", '{"id":"1","name":"Ann","amount":"2.5"}')]


def test_parquet_rows_are_numbered_by_row(tmp_path: Path):
    path = tmp_path / "orders.parquet"
    pd.DataFrame({"id": [1, 2, 3], "name": ["A", "B", "C"], "amount": ["1", "x", "3"]}).to_parquet(
        path
    )
    conn = duckdb.connect()
    spec = SPEC.model_copy(update={"path": Path("orders.parquet")})
    ingest_to_table(conn, "orders", spec, path, "t", "q")
    assert conn.execute("SELECT line, column_name FROM q").fetchall() == [(2, "amount")]


def naive_scan(data: bytes) -> tuple[int, list[int]]:
    """Last line with content and empty lines before it, line by line (the slow way)."""
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    last = max((n for n, line in enumerate(lines, 1) if line.rstrip(b"\r")), default=0)
    empty = [n for n, line in enumerate(lines, 1) if line in (b"", b"\r") and 1 < n < last]
    return last, empty


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 20])
def test_scan_finds_empty_lines_across_chunk_edges(tmp_path: Path, monkeypatch, chunk: int):
    # given files of random line breaks, read in chunks that split them anywhere
    monkeypatch.setattr(scan, "CHUNK_BYTES", chunk)
    rng = random.Random(chunk)
    path = tmp_path / "lines.csv"
    for _ in range(200):
        pieces = [b"a", b"bc", b"\n", b"\r\n", b"\n\n", b"\r\n\r\n"]
        data = b"h\n" + b"".join(rng.choice(pieces) for _ in range(rng.randrange(30)))
        path.write_bytes(data)
        # when it is scanned
        last = scan.last_line(path)
        # then the hash, the last line and the empty lines match a line-by-line reading
        assert scan.file_digest(path) == (hashlib.sha256(data).hexdigest(), len(data))
        assert (last, scan.empty_lines(path, last)) == naive_scan(data), data
