"""A source that arrives in batches: a folder whose files are its partitions."""

from pathlib import Path

import pytest
import yaml

from pipeline.declarations.dataset import DatasetSpec
from pipeline.errors import DeclarationError
from tests.helpers import REPO


def churn(**transactions) -> dict:
    declaration = yaml.safe_load((REPO / "datasets/churn.yaml").read_text())
    declaration["sources"]["transactions"].update(transactions)
    return declaration


def test_the_batch_files_of_a_partitioned_source_are_its_partition_keys(tmp_path: Path):
    # given a folder of daily files and a stray file of another kind
    folder = tmp_path / "data/raw/transactions"
    folder.mkdir(parents=True)
    for name in ("2026-06-28.csv", "2026-06-27.csv", "notes.txt"):
        (folder / name).write_text("x\n")
    # when the source declares the folder as partitioned by file
    spec = DatasetSpec.model_validate(churn(path="data/raw/transactions", partitioned="by_file"))
    # then the partition keys are the matching file names, sorted
    assert spec.partitioned_source == "transactions"
    assert list(spec.sources["transactions"].batch_files(tmp_path)) == [
        "2026-06-27.csv",
        "2026-06-28.csv",
    ]
    assert spec.sources["transactions"].file_format == "csv"


def test_a_batch_file_whose_name_cannot_be_a_partition_key_is_named_in_the_error(tmp_path):
    # given a batch file with a quote in its name
    folder = tmp_path / "batches"
    folder.mkdir()
    (folder / "day'1.csv").write_text("x\n")
    spec = DatasetSpec.model_validate(churn(path="batches", partitioned="by_file"))
    # when its batches are listed, then the error names the file and what to do
    with pytest.raises(DeclarationError, match=r"day'1\.csv.*rename the file"):
        spec.sources["transactions"].batch_files(tmp_path)


def test_two_partitioned_sources_in_one_dataset_are_refused():
    # given both sources of churn declared partitioned
    declaration = churn(path="data/raw/transactions", partitioned="by_file")
    declaration["sources"]["customers"].update(path="data/raw/customers", partitioned="by_file")
    # when validated, then the error says at most one may be
    with pytest.raises(ValueError, match="at most one source of a dataset may arrive in batches"):
        DatasetSpec.model_validate(declaration)


def test_the_shipped_sources_are_not_partitioned():
    # given the shipped churn declaration, when validated, then nothing is partitioned
    spec = DatasetSpec.model_validate(churn())
    assert spec.partitioned_source is None
    assert spec.sources["transactions"].batch_files(REPO) == {}
