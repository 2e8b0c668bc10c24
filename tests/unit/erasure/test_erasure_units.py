"""Erasure's parts on their own: the landing rewrite keeps every other byte, a Delta erase
leaves no older version to read, the proof finds values in binary and compressed files, and
the subject's scope comes from the declaration."""

import subprocess
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from pipeline.declarations.dataset import SourceSpec
from pipeline.erasure.landing import rewrite_without
from pipeline.erasure.proof import Place, Searcher, fingerprints, normalize, search_place
from pipeline.erasure.scope import ErasureError, Subject, parse_subject, resolve_scope
from pipeline.storage.tables import TableStore, TableStoreError, erase_rows
from tests.helpers import REPO

KEY = b"unit-test-key"
SPEC = SourceSpec(path=Path("x.csv"), columns={"id": "BIGINT", "name": "VARCHAR"}, key="id")


def test_a_landing_rewrite_removes_only_the_subjects_records_and_keeps_every_other_byte(
    tmp_path,
):
    # given a CSV with a multi-line quoted record of the subject and a malformed line
    path = tmp_path / "x.csv"
    others = 'id,name\n1,"Ann\n Lee"\n3,bad,line,too,many\n'
    path.write_text(others[:8] + '2,"Zed\nQuux"\n' + others[8:] + "2,Zed again\n")
    # when the subject's rows are removed
    rewritten = rewrite_without(path, SPEC, "id", {"2"})
    # then both of its records are gone, spanning lines included, and the rest is byte for byte
    assert rewritten.rows_removed == 2
    assert path.read_text() == others
    assert rewritten.sha256_after != rewritten.sha256_before


def test_a_landing_rewrite_of_an_absent_subject_leaves_the_file_untouched(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("id,name\n1,Ann\n")
    rewritten = rewrite_without(path, SPEC, "id", {"9"})
    assert rewritten.rows_removed == 0 and rewritten.sha256_after == rewritten.sha256_before


def test_an_erased_delta_table_has_no_older_version_and_no_value_in_any_file(tmp_path):
    # given a table published three times, the subject in every version
    store = TableStore(str(tmp_path / "tables"))
    for _ in range(3):
        store.publish("raw", "people", pa.table({"id": [1, 2, 3], "name": ["Ann", "Zyxq", "Bo"]}))
    # when the subject's row is erased
    erased = erase_rows(store, "raw.people", '"id" IN (2)', {"govern_erasure": "E-1"})
    # then the latest version lacks it, every other row is there, and no older version reads
    assert erased.rows_deleted == 1
    rows = store.snapshot("raw", "people").dataset.to_table().to_pylist()
    assert rows == [{"id": 1, "name": "Ann"}, {"id": 3, "name": "Bo"}]
    with pytest.raises(TableStoreError, match="cannot be read"):
        store.snapshot("raw", "people", version=erased.version_before)
    # and no file under the table (data, log, checkpoint) holds the value's bytes, even the log's
    # min/max statistics
    grep = subprocess.run(["grep", "-rl", "Zyxq", store.uri("raw", "people")], capture_output=True)
    assert grep.stdout == b"", grep.stdout
    # and later versions keep their time travel (the log retention is set back)
    config = DeltaTable(store.uri("raw", "people")).metadata().configuration
    assert config["delta.logRetentionDuration"] == "interval 30 days"


def test_the_proof_finds_a_value_in_a_compressed_parquet_file_and_in_binary_bytes(tmp_path):
    # given a phone number in a compressed Parquet file and a name inside binary bytes
    write_deltalake(tmp_path / "t", pa.table({"phone": ["(212) 555-0199"] * 50}))
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02Zebulon Quixote\x00\xff")
    values = {"PHONE_NUMBER": {"+1 212.555.0199"[3:]}, "PERSON": {"Zebulon Quixote"}}
    prints, short = fingerprints(KEY, values)
    searcher = Searcher.of(KEY, prints, [len(normalize(v)) for s in values.values() for v in s])
    # when every file is searched
    place = search_place(Place("all"), sorted(tmp_path.rglob("*.*")), searcher)
    # then both kinds are found (the phone in any format), and nothing was too short
    assert place.found["PHONE_NUMBER"] >= 1 and place.found["PERSON"] == 1, place
    assert place.decoded_files == 1 and short == []


def test_a_value_is_normalized_to_its_letters_and_digits_in_lower_case_in_any_script():
    # the ledger keeps fingerprints of this form: it must not change under an erasure's feet
    assert normalize("Łukasz_Nowak-Ünal, (212) 555·0181") == "łukasznowakünal2125550181"
    assert normalize("212.555.0181") == normalize("(212) 555-0181")


def test_the_proof_finds_nothing_where_the_value_is_not(tmp_path):
    (tmp_path / "a.txt").write_text("Ann Lee, 212 555 0100")
    prints, _ = fingerprints(KEY, {"PERSON": {"Zebulon Quixote"}})
    place = search_place(Place("all"), [tmp_path / "a.txt"], Searcher.of(KEY, prints, [14]))
    assert not place.found and place.files == 1


def test_the_scope_of_a_patient_reaches_the_encounters_through_the_declared_key():
    # given the shipped readmission declaration, when a patient is the subject
    scope = resolve_scope(REPO, Subject("readmission", "patient_id", "500001"))
    # then patients is the primary source and encounters, which names patient_id, a dependent
    assert (scope.primary, scope.link, scope.dependents) == (
        "patients",
        "patient_id",
        ("encounters",),
    )


def test_a_subject_by_an_undeclared_column_or_in_an_unknown_dataset_is_refused():
    with pytest.raises(ErasureError, match="no source of dataset 'churn' has a column 'ssn'"):
        resolve_scope(REPO, Subject("churn", "ssn", "1"))
    with pytest.raises(ErasureError, match="dataset 'nope' is not declared"):
        resolve_scope(REPO, Subject("nope", "id", "1"))
    with pytest.raises(ErasureError, match="COLUMN=VALUE"):
        parse_subject("churn", "customer_id")
