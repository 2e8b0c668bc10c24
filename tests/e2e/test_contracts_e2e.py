"""Contracts in the running pipeline: broken inputs stop training, drift warns, suites load."""

import json

import pytest

from pipeline.cli.app import main
from pipeline.contracts.suite import load_suite
from pipeline.definitions import build_definitions
from pipeline.errors import DeclarationError
from tests.helpers import gate, run_churn, status

pytestmark = pytest.mark.e2e


def test_a_dropped_column_stops_training_naming_file_and_column(project, instance, tmp_path):
    # given a transactions file that lost its channel column
    lines = (project / "data/raw/transactions.csv").read_text().splitlines()
    dropped = tmp_path / "transactions.csv"
    dropped.write_text("\n".join(",".join(line.split(",")[:-1]) for line in lines) + "\n")
    # when the job runs on it
    summary = run_churn(project, instance, {"transactions": dropped})
    # then ingest fails with the file, the missing column and what to do; no model is trained
    assert status(summary, "raw_transactions") == "failed"
    assert status(summary, "churn_model") == "not run"
    failure = next(f for f in summary.failures if f.startswith("raw_transactions"))
    assert "missing columns ['channel']" in failure and str(dropped) in failure, failure


def test_a_broken_file_stops_training(project, instance, tmp_path):
    # given a customers file where a quote opened early is never closed
    lines = (project / "data/raw/customers.csv").read_text().splitlines()
    victim = next(i for i in range(2, len(lines)) if '"' not in lines[i])
    lines[victim] = lines[victim].replace(",", ',"', 1)
    for later in range(victim + 1, len(lines)):
        lines[later] = lines[later].replace('"', "")
    broken = tmp_path / "customers.csv"
    broken.write_text("\n".join(lines) + "\n")
    # when the job runs on it
    summary = run_churn(project, instance, {"customers": broken})
    # then the ingest contract blocks, saying a quote was left open
    verdict = gate(summary, "raw_customers", "ingest_contract")
    assert not verdict.passed and "quote was left open" in verdict.summary, verdict
    assert status(summary, "churn_model") == "not run"
    # and the failed asset still reports its row invariant
    facts = next(a.facts for a in summary.assets if a.asset == "raw_customers")
    assert facts["rows_in"] == facts["rows_loaded"] + facts["rows_rejected"] > 0, facts


def test_schema_drift_between_materializations_warns_without_blocking(project, instance, edit_file):
    # given a first run, then a feature SQL that adds a column
    assert run_churn(project, instance).success
    edit_file(
        project / "datasets/churn.yaml",
        "      c.churned\n",
        "      c.churned,\n      length(c.support_notes) AS notes_length\n",
    )
    # when the job runs again
    summary = run_churn(project, instance)
    # then Dagster's column-schema check warns on the feature table, and training goes on
    verdict = gate(summary, "customer_features", "column_schema_change")
    assert not verdict.passed and not verdict.blocking, verdict
    assert summary.success and summary.model["version"] == "2", summary.failures


def test_contract_init_writes_a_suite_the_data_passes(project, capsys):
    # when a starter suite is profiled from the redacted transactions
    assert main(["contract", "init", "--source", "transactions", "--force"]) == 0
    suite_path = project / "expectations/transactions.json"
    suite = load_suite(suite_path)
    # then it names every redacted column, checks the token shape, and the sample passes it
    kinds = {(c.expectation_type, c.column) for c in suite.clauses}
    assert ("expect_column_values_to_match_regex", "customer_id") in kinds, kinds
    assert ("expect_column_values_to_be_unique", "transaction_id") in kinds, kinds
    assert ("expect_column_values_to_be_in_set", "currency") in kinds, kinds
    assert "warning: the profiled data fails" not in capsys.readouterr().err
    assert json.loads(suite_path.read_text())["meta"]["generated_by"] == "govern contract init"
    # and it refuses to overwrite a reviewed suite without --force
    assert main(["contract", "init", "--source", "transactions"]) == 2


@pytest.mark.parametrize(
    ("path", "old", "new", "message"),
    [
        (
            "expectations/customer_features.json",
            '"column": "n_orders"',
            '"column": "n_order"',
            "expectations name columns ['n_order'] that asset 'customer_features' does not have",
        ),
        (
            "datasets/churn.yaml",
            "      coalesce(o.n_channels, 0) AS n_channels,\n",
            "",
            "model: columns ['n_channels'] are not produced by features.sql",
        ),
        (
            "datasets/churn.yaml",
            "FROM {transactions}",
            "FROM {transactions} WHERE nonsense",
            "datasets/churn.yaml: features.sql:",
        ),
        (
            "expectations/transactions.json",
            '"column": "amount"',
            '"column": "amnt"',
            "expectations name columns ['amnt'] that asset 'redacted_transactions' does not have",
        ),
        (
            "policies/encounters.yaml",
            "patients.full_name",
            "patients.nickname",
            "known_names_from: 'patients.nickname' is not a column of another source",
        ),
    ],
)
def test_declaration_errors_fail_at_load_naming_file_and_column(
    project, edit_file, path, old, new, message
):
    edit_file(project / path, old, new)
    with pytest.raises(DeclarationError) as raised:
        build_definitions(project)
    assert message in str(raised.value), str(raised.value)
