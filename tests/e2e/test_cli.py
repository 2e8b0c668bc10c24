"""The `govern` CLI: exit codes, readable blocked-gate messages, deterministic sample data."""

import filecmp
import json
from pathlib import Path

import pytest

from pipeline import settings
from pipeline.cli.app import main
from tests.helpers import REPO, tables, with_negative_amount


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


def test_the_key_comes_from_dot_env_and_the_environment_wins(project, monkeypatch, capsys):
    # given a .env in the project root with the development key, as `make setup` writes it
    (project / ".env").write_text(f"GOVERN_HMAC_KEY={settings.DEV_HMAC_KEY}\n")
    lines = (project / "data" / "raw" / "customers.csv").read_text().splitlines()[:40]
    sample = project / "few.csv"
    sample.write_text("\n".join(lines) + "\n")
    redact = ["redact", "--source", "customers", str(sample)]
    # when govern runs from a shell without the variable
    monkeypatch.delenv("GOVERN_HMAC_KEY")
    assert main([*redact, str(project / "a.csv")]) == 0
    # then it read the key from .env (and warns that it is the public one)
    assert "public development key" in capsys.readouterr().err
    # and when the environment has a key of its own, that key wins over the file
    monkeypatch.setenv("GOVERN_HMAC_KEY", "a-real-key-from-the-environment")
    assert main([*redact, str(project / "b.csv")]) == 0
    assert "public development key" not in capsys.readouterr().err
    assert (project / "a.csv").read_text() != (project / "b.csv").read_text(), "other tokens"


@pytest.mark.e2e
def test_blocked_run_exits_non_zero_naming_gate_asset_and_reason(project, tmp_path, capsys):
    # given a transactions file with a negative amount on every line, which the contract bans
    bad = with_negative_amount(project, tmp_path / "transactions.csv")
    # when `govern run` runs on it
    code = main(["run", "--dataset", "churn", "--source", f"transactions={bad}"])
    out, err = capsys.readouterr()
    # then it exits non-zero and says which clause of which contract blocked which asset, once,
    # in the summary: no Dagster stack trace or step-failure log on stderr
    assert code == 1, out
    assert "Stack Trace" not in err and "STEP_FAILURE" not in err, err
    assert "BLOCKED" in out and "range__amount" in out, out
    assert (
        "gate 'range__amount' (clause of expectations/transactions.json)"
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


HEADER = (
    "customer_id,full_name,email,phone,street_address,city,postcode,country,date_of_birth,"
    "signup_date,plan,support_notes,churned"
)


def customers_file(path: Path, rows: int, unparsable: int) -> Path:
    """``rows`` customers, the first ``unparsable`` of them with a ``churned`` value that is not
    an integer (so the ingest contract rejects them), each with its own name and e-mail."""
    lines = [HEADER]
    for n in range(rows):
        churned = "maybe" if n < unparsable else str(n % 2)
        lines.append(
            f"{100001 + n},Ana Quintero{n},ana.quintero{n}@example.com,+44 20 7946 0958,"
            f"{n + 1} Main Street,London,SW1A 1AA,GB,1980-01-02,2024-01-01,basic,"
            f"Called about a late order.,{churned}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_redact_refuses_a_file_whose_every_row_is_rejected(project, tmp_path, capsys):
    # given a customers file of which no row passes the ingest contract
    source = customers_file(tmp_path / "customers.csv", rows=40, unparsable=40)
    output = tmp_path / "shared" / "customers.csv"
    # when it is redacted
    code = main(["redact", "--source", "customers", str(source), str(output)])
    err = capsys.readouterr().err
    # then it fails, names the source, the share and the budget, and writes nothing
    assert code == 2, err
    assert (
        "customers: 40 of 40 rows rejected (100.0%), over the budget max_reject_fraction 0.05; "
        "nothing written"
    ) in err, err
    assert "raise the budget in datasets/churn.yaml (sources.customers.max_reject_fraction)" in (
        err
    ), err
    assert "values of column 'churned'" in err, "the message says what the rejects share"
    assert not output.exists() and not output.parent.exists(), "nothing may be written"
    # and it quotes nothing of the file
    assert "Quintero" not in err and "maybe" not in err and "@" not in err, err


def test_redact_refuses_a_file_over_its_reject_budget_and_writes_one_within_it(
    project, tmp_path, capsys
):
    # given two files of 40 customers: 3 rejected (7.5%) and 2 rejected (5.0%, the budget)
    over = customers_file(tmp_path / "over.csv", rows=40, unparsable=3)
    within = customers_file(tmp_path / "within.csv", rows=40, unparsable=2)
    # when each is redacted with the customers policy (max_reject_fraction 0.05)
    refused = main(["redact", "--source", "customers", str(over), str(tmp_path / "a.csv")])
    err = capsys.readouterr().err
    written = main(["redact", "--source", "customers", str(within), str(tmp_path / "b.csv")])
    out = capsys.readouterr().out
    # then the first is refused with its share, the second (at the budget) is written
    assert refused == 2, err
    assert "customers: 3 of 40 rows rejected (7.5%), over the budget" in err, err
    assert not (tmp_path / "a.csv").exists(), "a refused file must not be written"
    assert written == 0, out
    assert "38 rows written of 40 read; 2 unreadable lines left out" in out, out
    assert (tmp_path / "b.csv").exists()


def test_redact_refuses_a_file_with_no_row_left_even_with_the_widest_budget(
    project, tmp_path, edit_file, capsys
):
    # given the widest budget a source can declare, and a file of which no row passes
    edit_file(
        project / "datasets/churn.yaml", "max_reject_fraction: 0.05", "max_reject_fraction: 1.0"
    )
    source = customers_file(tmp_path / "customers.csv", rows=10, unparsable=10)
    # when it is redacted, then an empty file is still not a result
    code = main(["redact", "--source", "customers", str(source), str(tmp_path / "out.csv")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "customers: 10 of 10 rows rejected (100.0%); nothing written" in err, err
    assert not (tmp_path / "out.csv").exists()


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
def test_govern_run_runs_every_shipped_dataset_then_only_what_changed(project, capsys, tmp_path):
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
    with tables() as conn:
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

    # when they run again with nothing changed
    assert main(["run"]) == 0
    # then nothing runs and no model version is registered
    out = capsys.readouterr().out
    assert "dataset churn is up to date: model churn_model version 1" in out, out
    assert "dataset readmission is up to date: model readmission_model version 1" in out, out
    # when one landing file changes and its source is named
    lines = (project / "data/raw/customers.csv").read_text().splitlines()
    changed = tmp_path / "customers.csv"
    changed.write_text("\n".join(lines[:-1]) + "\n")
    assert main(["run", "--source", f"customers={changed}", "--json"]) == 0
    summaries = json.loads(capsys.readouterr().out)
    # then only the dataset that reads it runs, and only what depends on the changed file
    assert [s["dataset"] for s in summaries] == ["churn"], summaries
    states = {a["asset"]: a["status"] for a in summaries[0]["assets"]}
    assert states["raw_transactions"] == states["redacted_transactions"] == "up to date", states
    assert states["raw_customers"] == states["churn_model"] == "materialized", states
    assert summaries[0]["model"]["version"] == "2", summaries[0]["model"]
    # and --force reruns everything
    assert main(["run", "--dataset", "churn", "--force", "--json"]) == 0
    forced = json.loads(capsys.readouterr().out)[0]
    assert {a["status"] for a in forced["assets"]} == {"materialized"}, forced["assets"]
