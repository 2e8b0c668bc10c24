"""Profiling a new file: sniffed types survive dirty cells, keys and source names are sound."""

from pathlib import Path

import pandas as pd
import pytest

from pipeline.errors import GovernError
from pipeline.scaffold.profile import guess_key, read_source, source_name


def write(tmp_path: Path, text: str, name: str = "loans.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_number_column_with_one_dirty_cell_keeps_its_type(tmp_path: Path):
    # given a column of 40 integers, one of them 'n/a', and a column of dates, one of them junk
    rows = [f"{i},{i * 10},2024-01-{i % 28 + 1:02d}" for i in range(1, 41)]
    rows[5] = "6,n/a,2024-01-07"
    rows[9] = "10,100,soon"
    path = write(tmp_path, "loan_id,amount,opened\n" + "\n".join(rows) + "\n")
    # when the file is profiled
    columns, frame = read_source(path)
    # then the sniffer's VARCHAR fallback is refined back to the columns' real types
    assert columns == {"loan_id": "BIGINT", "amount": "BIGINT", "opened": "DATE"}, columns
    assert len(frame) == 40, "every readable row is profiled"


def test_leading_zeros_stay_text(tmp_path: Path):
    # given zip codes with leading zeros (numbers to a sniffer, text to a person)
    path = write(tmp_path, "id,zip\n1,02134\n2,10001\n3,00501\n")
    # when profiled, then the zip column is text, so no zero is lost
    columns, _ = read_source(path)
    assert columns["zip"] == "VARCHAR", columns


def test_a_column_name_that_is_not_an_identifier_is_refused(tmp_path: Path):
    path = write(tmp_path, "id,monthly income\n1,2000\n")
    with pytest.raises(GovernError, match="not a plain identifier"):
        read_source(path)


def test_a_missing_file_is_named(tmp_path: Path):
    with pytest.raises(GovernError, match="file not found"):
        read_source(tmp_path / "nope.csv")


def test_the_key_is_a_complete_unique_id_column():
    # given two id-like columns, one with a repeat, one unique and complete
    frame = pd.DataFrame({"branch_id": [1, 1, 2], "loan_id": [7, 8, 9], "amount": [1, 2, 3]})
    columns = {"branch_id": "BIGINT", "loan_id": "BIGINT", "amount": "BIGINT"}
    # then the unique one is the key; a frame with no such column has none
    assert guess_key(columns, frame) == "loan_id"
    assert guess_key({"amount": "BIGINT"}, frame[["amount"]]) is None


def test_source_names_are_valid_and_never_taken_twice():
    # given a name already taken and file stems a declaration would refuse
    taken = {"loans"}
    # when names are made for them
    names = [source_name(stem, taken) for stem in ("Loans", "Loans", "2024 Q1", "---")]
    # then each is a valid, new name, and all are now taken
    assert names == ["loans_2", "loans_3", "s_2024_q1", "source"], names
    assert set(names) <= taken
