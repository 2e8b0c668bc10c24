"""The `govern` CLI: exit codes, readable blocked-gate messages, deterministic sample data."""

import filecmp
import json
from pathlib import Path

import pytest

from pipeline.cli.app import main
from tests.helpers import REPO, with_negative_amount


def test_generate_is_deterministic_and_reproduces_the_committed_sample(tmp_path: Path):
    # given the committed sample, made with `govern generate --customers 2000`
    # when it is generated again, twice
    for out in ("a", "b"):
        assert main(["generate", "--customers", "2000", "--out", str(tmp_path / out)]) == 0
    # then the bytes are identical, run to run and to the committed files
    for name in ("customers.csv", "transactions.csv"):
        assert filecmp.cmp(tmp_path / "a" / name, tmp_path / "b" / name, shallow=False), name
        assert filecmp.cmp(tmp_path / "a" / name, REPO / "data" / "raw" / name, shallow=False), (
            f"data/raw/{name} differs from the generator"
        )


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
    code = main(["run", "--dataset", "churn", "--source", f"transactions={bad}"])
    out = capsys.readouterr().out
    # then it exits non-zero and says which clause of which contract blocked which asset
    assert code == 1, out
    assert "BLOCKED" in out and "column_values_to_be_between__amount" in out, out
    assert (
        "gate 'column_values_to_be_between__amount' (clause of expectations/transactions.json)"
        " on asset 'redacted_transactions'"
    ) in out, out
    assert "churn_model" in out and "not run" in out, out


def test_redact_writes_a_shareable_file_and_reports_per_column(project, tmp_path, capsys):
    # given the sample customers file
    source = project / "data/raw/customers.csv"
    output = tmp_path / "shared" / "customers.parquet"
    # when it is redacted with the customers policy
    assert main(["redact", "--source", "customers", str(source), str(output)]) == 0
    printed = capsys.readouterr().out
    # then the file holds no column the policy drops, no email anywhere, and a summary printed
    import pandas as pd

    shared = pd.read_parquet(output)
    assert "full_name" not in shared.columns and "email" not in shared.columns
    assert not shared["support_notes"].dropna().str.contains("@").any(), "an email survived"
    assert "residual-PII gate: passed" in printed and "support_notes" in printed, printed
    assert "unreadable lines left out" in printed, printed


def test_redact_refuses_to_overwrite_its_input(project, capsys):
    source = project / "data/raw/customers.csv"
    assert main(["redact", "--source", "customers", str(source), str(source)]) == 2
    assert "must not overwrite the input" in capsys.readouterr().err


def test_policy_check_passes_the_template_and_names_an_unclassified_column(
    project, edit_file, capsys
):
    assert main(["policy", "check"]) == 0, capsys.readouterr().out
    capsys.readouterr()
    # given a new column declared for transactions that its policy does not classify
    edit_file(
        project / "datasets/churn.yaml",
        "      channel: VARCHAR\n",
        "      channel: VARCHAR\n      coupon_code: VARCHAR\n",
    )
    # when the policies are checked, then the column is named and the check fails
    assert main(["policy", "check"]) == 1
    out = capsys.readouterr().out
    assert "policies/transactions.yaml: needs attention" in out, out
    assert "['coupon_code'] are in the data but not in the policy" in out, out


@pytest.mark.e2e
def test_govern_run_runs_every_shipped_dataset_by_default(project, capsys):
    # when `govern run` is called with no --dataset
    code = main(["run", "--json"])
    summaries = {s["dataset"]: s for s in json.loads(capsys.readouterr().out)}
    # then both shipped datasets ran through to a registered model
    assert code == 0, {name: s["failures"] for name, s in summaries.items()}
    assert set(summaries) == {"churn", "readmission"}, summaries.keys()
    for name, summary in summaries.items():
        assert summary["model"]["version"] == "1", (name, summary["model"])
        sources = [a for a in summary["assets"] if a["asset"].startswith("raw_")]
        assert all(
            a["facts"]["rows_in"] == a["facts"]["rows_loaded"] + a["facts"]["rows_rejected"]
            for a in sources
        ), sources
    # and the readmission tables are de-identified the HIPAA way: years only, no MRN left
    import duckdb

    from pipeline import settings

    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as conn:
        years = conn.execute(
            "SELECT min(admit_date), max(admit_date) FROM redacted.encounters"
        ).fetchone()
        leaks = conn.execute(
            "SELECT count(*) FROM redacted.encounters WHERE "
            "regexp_matches(clinical_notes, 'MRN[-:# ]*[0-9]{7}')"
        ).fetchone()
        oldest = conn.execute(
            "SELECT max(age_at_admit) FROM features.readmission_features"
        ).fetchone()
    assert 2000 <= years[0] <= years[1] <= 2100, years
    assert leaks == (0,) and oldest[0] <= 90, (leaks, oldest)
