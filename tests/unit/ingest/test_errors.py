"""A file that cannot be ingested fails with file, line and what to do, never its content.

A raw line can hold personal data, and these errors end up in run summaries and Dagster logs.
"""

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipeline.declarations.dataset import SourceSpec
from pipeline.errors import IngestError
from pipeline.ingest.reader import ingest_to_table

SPEC = SourceSpec(
    path=Path("people.csv"),
    columns={"id": "BIGINT", "full_name": "VARCHAR", "email": "VARCHAR", "day": "DATE"},
)
SECRET = "Zebulon Quackenbush"


def ingest_error(path: Path, spec: SourceSpec = SPEC) -> str:
    with pytest.raises(IngestError) as raised:
        ingest_to_table(duckdb.connect(), "people", spec, path, "t", "q")
    message = str(raised.value)
    assert str(path) in message, f"the error must name the file: {message}"
    return message


def test_a_system_file_given_as_source_is_not_quoted(tmp_path: Path):
    # given a file that is not a CSV at all, its first line private (like /etc/passwd)
    path = tmp_path / "passwd"
    path.write_text(f"root:x:0:0:{SECRET}:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/bin/sh\n")
    # when it is given as a source, then the error names line 1 and the likely cause only
    message = ingest_error(path)
    assert "line 1 (header): found one column; expected 4" in message, message
    assert SECRET not in message and "/bin/bash" not in message, message


def test_a_headerless_file_names_columns_by_position_not_by_value(tmp_path: Path):
    # given a data export without its header line: line 1 is a person's record
    path = tmp_path / "people.csv"
    path.write_text(f"1,{SECRET},zq@example.org,2024-01-02\n2,Ann,ann@example.org,2024-01-03\n")
    # when it is ingested, then the columns are named by position, the values never
    message = ingest_error(path)
    assert "missing columns ['id', 'full_name', 'email', 'day']" in message, message
    assert "unexpected columns at positions [1, 2, 3, 4]" in message, message
    assert SECRET not in message and "zq@example.org" not in message, message


def test_a_directory_given_as_source_says_what_to_pass_instead(tmp_path: Path):
    # given a folder where a file is expected
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "people.csv").write_text("id,full_name,email,day\n")
    # when it is ingested, then the error says what is wrong, where, and what to do
    message = ingest_error(folder)
    assert "is a directory" in message and "pass the file itself" in message, message


def test_a_non_utf8_header_names_the_byte_not_the_text(tmp_path: Path):
    path = tmp_path / "people.csv"
    path.write_bytes("id,full_n\xe4me,email,day\n".encode("latin-1"))
    message = ingest_error(path)
    assert "line 1, byte 10: not UTF-8" in message and "re-encode" in message, message


def test_a_file_duckdb_cannot_parse_fails_without_its_content(tmp_path: Path):
    # given a stray carriage return inside a value, which stops DuckDB's CSV parser
    path = tmp_path / "people.csv"
    path.write_bytes(f"id,full_name,email,day\n1,{SECRET}\rX,zq@example.org,2024-01-02\n".encode())
    # when it is ingested, then the failure is an IngestError naming the file, not the line
    message = ingest_error(path)
    assert "DuckDB cannot read the file" in message and "line endings" in message, message
    assert SECRET not in message, message


def test_malformed_lines_reach_the_quarantine_but_not_the_report(tmp_path: Path):
    # given a file whose bad lines hold personal data
    path = tmp_path / "people.csv"
    path.write_text(
        "id,full_name,email,day\n"
        "1,Ann,ann@example.org,2024-01-02\n"
        f"2,{SECRET},zq@example.org\n"  # missing a field
        f"3,{SECRET},zq@example.org,not a day\n"  # untypable
    )
    conn = duckdb.connect()
    report = ingest_to_table(conn, "people", SPEC, path, "t", "q")
    # then the quarantine keeps the lines for whoever fixes them, the report only counts
    assert conn.execute("SELECT count(*) FROM q WHERE raw LIKE ?", [f"%{SECRET}%"]).fetchone()[0]
    assert SECRET not in repr(report), report


def test_a_parquet_file_missing_a_column_names_it(tmp_path: Path):
    path = tmp_path / "people.parquet"
    pd.DataFrame({"id": [1], "full_name": [SECRET], "email": ["zq@example.org"]}).to_parquet(path)
    message = ingest_error(path, SPEC.model_copy(update={"path": Path("people.parquet")}))
    assert "missing columns ['day']" in message, message


def test_a_file_that_is_not_parquet_fails_clearly(tmp_path: Path):
    path = tmp_path / "people.parquet"
    path.write_text(f"{SECRET}\n")
    message = ingest_error(path, SPEC.model_copy(update={"path": Path("people.parquet")}))
    assert "DuckDB cannot read the file" in message and SECRET not in message, message
