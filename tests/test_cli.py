"""The `govern` CLI: exit codes, readable blocked-gate messages, deterministic sample data."""

import filecmp
from pathlib import Path

import pytest

from pipeline.cli import main
from tests.helpers import with_negative_amount

REPO = Path(__file__).resolve().parent.parent


def test_generate_is_deterministic_and_reproduces_the_committed_sample(tmp_path: Path):
    # given the committed sample, made with `govern generate --customers 2000`
    # when it is generated again, twice
    for out in ("a", "b"):
        assert main(["generate", "--customers", "2000", "--out", str(tmp_path / out)]) == 0
    # then the bytes are identical, run to run and to the committed files
    for name in ("customers.csv", "transactions.csv"):
        assert filecmp.cmp(tmp_path / "a" / name, tmp_path / "b" / name, shallow=False), name
        assert filecmp.cmp(tmp_path / "a" / name, REPO / "data" / "raw" / name,
                           shallow=False), f"data/raw/{name} differs from the generator"


def test_unknown_source_is_a_usage_error(project, capsys):
    assert main(["run", "--source", "suppliers=x.csv"]) == 2
    assert "unknown source(s) ['suppliers']" in capsys.readouterr().err


def test_missing_hmac_key_is_a_clear_error(project, monkeypatch, capsys):
    monkeypatch.delenv("GOVERN_HMAC_KEY")
    assert main(["run"]) == 2
    assert "GOVERN_HMAC_KEY is not set" in capsys.readouterr().err


@pytest.mark.e2e
def test_blocked_run_exits_non_zero_naming_gate_asset_and_reason(project, tmp_path, capsys):
    # given a transactions file with a negative amount, which the contract rejects
    bad = with_negative_amount(project, tmp_path / "transactions.csv", line=3)
    # when `govern run` runs on it
    code = main(["run", "--source", f"transactions={bad}"])
    out = capsys.readouterr().out
    # then it exits non-zero and says which clause of which contract blocked which asset
    assert code == 1, out
    assert "BLOCKED" in out and "column_values_to_be_between__amount" in out, out
    assert "gate 'column_values_to_be_between__amount' on asset 'redacted_transactions'" in out
    assert "churn_model" in out and "not run" in out, out
