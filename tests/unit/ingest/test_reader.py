"""Ingest loses nothing: every line is loaded or quarantined with its line number and reason."""

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipeline.declarations.dataset import SourceSpec
from pipeline.errors import IngestError
from pipeline.ingest.gate import ingest_gate, sla_results
from pipeline.ingest.reader import file_sha256, ingest_to_table

SPEC = SourceSpec(
    path=Path("orders.csv"),
    columns={"id": "BIGINT", "name": "VARCHAR", "amount": "DOUBLE", "day": "DATE"},
)

DIRTY = (
    "id,name,amount,day\n"
    "1,  Ann  ,3.50,2024-01-02\n"  # line 2: stray whitespace, ISO date
    "2,Bob,abc,2024-01-03\n"  # line 3: unparsable number
    "3,Cy,1,2,2024-01-04\n"  # line 4: too many fields
    "4,Di,7.25,04.01.2024\n"  # line 5: dotted date
    "4,Di,7.25,04.01.2024\n"  # line 6: exact duplicate of line 5
    "5,Ed,,2024/01/05\n"  # line 7: missing amount is fine
    "6,Flo,2.0,not a date\n"  # line 8: unparsable date
    "7,Gus,9.99,07 Jan 2024\n"  # line 9: '%d %b %Y'
)


def ingest(path: Path, spec: SourceSpec = SPEC):
    conn = duckdb.connect()
    report = ingest_to_table(conn, "orders", spec, path, "t", "q")
    return conn, report


def test_dirty_csv_is_loaded_typed_and_every_bad_line_quarantined(tmp_path: Path):
    # given a CSV with whitespace, mixed dates, a duplicate and three malformed lines
    path = tmp_path / "orders.csv"
    path.write_text(DIRTY)
    # when it is ingested
    conn, report = ingest(path)
    # then the invariant holds and the counts are exact
    assert (report.rows_in, report.rows_loaded, report.rows_rejected) == (8, 4, 4), report
    assert report.invariant_holds
    assert report.sha256 == file_sha256(path)
    loaded = conn.execute("SELECT id, name, amount, day FROM t ORDER BY id").df()
    assert loaded["name"].tolist() == ["Ann", "Di", "Ed", "Gus"], "whitespace must be trimmed"
    assert loaded["day"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-01-02",
        "2024-01-04",
        "2024-01-05",
        "2024-01-07",
    ], "dates in every format"
    assert pd.isna(loaded.loc[loaded["id"] == 5, "amount"]).all(), "empty cell becomes NULL"
    quarantine = conn.execute("SELECT line, reason, column_name FROM q ORDER BY line").fetchall()
    assert quarantine == [
        (3, "unparsable value", "amount"),
        (4, "malformed line: too many columns", None),
        (6, "duplicate of line 5", None),
        (8, "unparsable value", "day"),
    ], quarantine


def test_quote_left_open_quarantines_every_swallowed_line(tmp_path: Path):
    # given a quote opened on line 3 and never closed
    path = tmp_path / "orders.csv"
    path.write_text('id,name,amount,day\n1,A,1,2024-01-01\n2,"B,2,2024-01-02\n3,C,3,2024-01-03\n')
    # when it is ingested
    _, report = ingest(path)
    # then nothing is lost: line 2 loads, lines 3 and 4 are quarantined one by one
    assert (report.rows_in, report.rows_loaded, report.rows_rejected) == (3, 1, 2), report


def test_parquet_source_is_ingested_with_row_numbers(tmp_path: Path):
    path = tmp_path / "orders.parquet"
    pd.DataFrame(
        {"id": [1, 2], "name": ["A", "B"], "amount": [1.0, 2.0], "day": ["2024-01-01", "bad"]}
    ).to_parquet(path)
    _, report = ingest(path, SPEC.model_copy(update={"path": Path("orders.parquet")}))
    assert (report.rows_in, report.rows_loaded, report.rows_rejected) == (2, 1, 1), report


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "source file not found"),
        ("", "the file is empty"),
        ("id,name,amount\n1,A,2\n", "missing columns ['day']"),
        ("id,name,amount,day,extra\n", "unexpected columns ['extra']"),
        ("id,fullname,amount,day\n", "missing columns ['name']; unexpected columns ['fullname']"),
        ("id;name;amount;day\n1;A;2;2024-01-01\n", "wrong delimiter"),
    ],
)
def test_unreadable_files_fail_with_file_line_and_fix(tmp_path: Path, content, message):
    # given a file that cannot be ingested at all
    path = tmp_path / "orders.csv"
    if content is not None:
        path.write_text(content)
    # when it is ingested, then the error names the file and the problem
    with pytest.raises(IngestError) as raised:
        ingest(path)
    assert message in str(raised.value), str(raised.value)
    assert str(path) in str(raised.value), "the error must name the file"


def test_non_utf8_header_is_reported(tmp_path: Path):
    path = tmp_path / "orders.csv"
    path.write_bytes("id,name,amount,d\xe4y\n".encode("latin-1"))
    with pytest.raises(IngestError, match="not UTF-8"):
        ingest(path)


def test_header_with_bom_is_accepted(tmp_path: Path):
    path = tmp_path / "orders.csv"
    path.write_bytes(b"\xef\xbb\xbf" + b"id,name,amount,day\n1,A,2,2024-01-01\n")
    _, report = ingest(path)
    assert report.rows_loaded == 1, report


def test_header_only_file_loads_nothing_and_says_so(tmp_path: Path):
    path = tmp_path / "orders.csv"
    path.write_text("id,name,amount,day\n")
    _, report = ingest(path)
    passed, summary = ingest_gate(report, SPEC)
    assert (report.rows_in, passed) == (0, False) and "header but no rows" in summary, summary


def test_non_utf8_rows_are_quarantined_with_advice(tmp_path: Path):
    path = tmp_path / "orders.csv"
    rows = "".join(f"{i},N\xe4me{i},1.5,2024-01-0{i}\n" for i in range(1, 5))
    path.write_bytes(("id,name,amount,day\n" + rows).encode("latin-1"))
    _, report = ingest(path)
    passed, summary = ingest_gate(report, SPEC)
    assert report.reject_reasons == {"malformed line: invalid encoding": 4}, report
    assert not passed and "re-encode it as UTF-8" in summary, summary


def test_type_drift_is_named_with_its_column(tmp_path: Path):
    path = tmp_path / "orders.csv"
    rows = "".join(f"{i},A,{word},2024-01-01\n" for i, word in enumerate(["n/a", "x", "y"], 1))
    path.write_text("id,name,amount,day\n1,A,2.5,2024-01-01\n" + rows.replace("1,A", "9,A"))
    _, report = ingest(path)
    passed, summary = ingest_gate(report, SPEC)
    assert not passed and "column 'amount'" in summary and "type change" in summary, summary


def test_completeness_sla_blocks_too_many_nulls(tmp_path: Path):
    path = tmp_path / "orders.csv"
    path.write_text("id,name,amount,day\n1,A,,2024-01-01\n2,B,,2024-01-02\n3,C,1,2024-01-03\n")
    spec = SPEC.model_copy(
        update={
            "sla": SPEC.sla.model_copy(
                update={"min_rows": 2, "max_null_fraction": {"amount": 0.5}, "max_age_hours": 1.0}
            )
        }
    )
    conn, report = ingest(path, spec)
    results = {r.check: r for r in sla_results(conn, "t", path, report, spec)}
    assert not results["completeness"].passed, results["completeness"]
    assert "'amount' is 66.7% NULL" in results["completeness"].summary
    assert results["freshness"].passed, "a file written just now is fresh"
