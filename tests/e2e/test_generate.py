"""`govern generate --patients`: the readmission sample is reproduced byte for byte."""

import filecmp
from pathlib import Path

from pipeline.cli.app import main
from tests.helpers import REPO


def test_generate_patients_reproduces_the_committed_readmission_sample(tmp_path: Path):
    # given the committed sample, made with `govern generate --patients 1000`
    committed = REPO / "data" / "raw" / "readmission"
    # when it is generated again, twice
    for out in ("a", "b"):
        code = main(["generate", "--patients", "1000", "--out", str(tmp_path / out)])
        assert code == 0, f"`govern generate --patients 1000` exited with {code}"
    # then the bytes are identical, run to run and to the committed files
    for name in ("patients.csv", "encounters.csv"):
        assert filecmp.cmp(tmp_path / "a" / name, tmp_path / "b" / name, shallow=False), (
            f"{name} differs between two runs with the same seed"
        )
        assert filecmp.cmp(tmp_path / "a" / name, committed / name, shallow=False), (
            f"data/raw/readmission/{name} differs from the generator"
        )
