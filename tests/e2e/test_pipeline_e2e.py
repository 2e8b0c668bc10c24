"""End to end: real Dagster runs of the churn dataset, every gate passing and blocking.

Each test runs the whole job in-process on a small generated sample, into its own Delta tables,
Dagster instance and MLflow store under ``tmp_path``.
"""

import stat
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from deltalake import DeltaTable

from pipeline import settings
from pipeline.runs.instance import local_instance
from pipeline.storage.warehouse import frame_fingerprint
from tests.helpers import (
    gate,
    mlflow_client,
    run_churn,
    status,
    store,
    table_rows,
    tables,
    with_negative_amount,
)

pytestmark = pytest.mark.e2e
ASSETS = [
    "raw_customers",
    "raw_transactions",
    "redacted_customers",
    "redacted_transactions",
    "customer_features",
    "churn_model",
]


def test_full_graph_materializes_every_asset_and_registers_the_model(finished_churn_run):
    # given the template's declarations, a small dirty sample and a storage root of its own
    # (GOVERN_TABLES), when the churn job runs through Dagster (once, shared with the other
    # tests that only read its result)
    summary = finished_churn_run.summary
    with local_instance() as instance:
        assert_every_asset_materialized_and_the_model_registered(summary, instance)
        assert_versions_recorded(instance, summary.run_id)
    # and every table is a Delta table under GOVERN_TABLES, none under GOVERN_HOME
    assert store().root == str(finished_churn_run.tables)
    assert not (settings.govern_home() / "tables").exists()
    assert_restricted_zone_is_private()


def assert_every_asset_materialized_and_the_model_registered(summary, instance) -> None:
    # then every asset is materialized and every gate passed
    assert summary.success, summary.failures
    assert [a.status for a in summary.assets] == ["materialized"] * len(ASSETS), summary.assets
    assert not summary.blocked_gates(), summary.blocked_gates()
    assert {g.check for g in summary.gates} >= {
        "ingest_contract",
        "residual_pii",
        "evaluation_gate",
    }
    raw = next(a for a in summary.assets if a.asset == "raw_customers").facts
    assert raw["rows_rejected"] > 0, "the sample is dirty: some lines must be quarantined"
    assert raw["rows_in"] == raw["rows_loaded"] + raw["rows_rejected"]
    # and the model is registered in MLflow, its run tagged with the Dagster lineage
    assert summary.model["version"] == "1", summary.model
    client = mlflow_client()
    version = client.get_model_version("churn_model", "1")
    run = client.get_run(version.run_id)
    assert run.data.tags["dagster.run_id"] == summary.run_id
    features_version = instance.get_latest_materialization_event(
        dg.AssetKey("customer_features")
    ).asset_materialization.tags["dagster/data_version"]
    assert run.data.tags["dagster.asset.customer_features.data_version"] == features_version
    assert run.inputs.dataset_inputs[0].dataset.digest == features_version, (
        "log_input's digest must equal the feature table's Dagster data version"
    )
    for key in ASSETS[:-1]:
        assert run.data.tags[f"dagster.asset.{key}.data_version"] != "none", key
    assert run.data.tags["govern.policy.customers.sha256"]
    assert run.data.metrics["roc_auc"] >= 0.65
    # and materializations carry row counts and schemas for the UI
    event = instance.get_latest_materialization_event(dg.AssetKey("redacted_customers"))
    metadata = event.asset_materialization.metadata
    assert metadata["dagster/row_count"].value == table_rows("redacted.customers")
    schema = metadata["dagster/column_schema"].value
    assert {c.name for c in schema.columns} >= {"customer_id", "support_notes"}
    assert "full_name" not in {c.name for c in schema.columns}, "dropped columns are gone"


TABLES = {
    "raw_customers": "raw.customers",
    "redacted_customers": "redacted.customers",
    "customer_features": "features.customer_features",
}


def assert_versions_recorded(instance: dg.DagsterInstance, run_id: str) -> None:
    """Each table asset's metadata names the Delta version it published, made by its run,
    which time travel reads back with the rows the asset counted."""
    for key, table in TABLES.items():
        metadata = instance.get_latest_materialization_event(
            dg.AssetKey(key)
        ).asset_materialization.metadata
        version, uri = metadata["table_version"].value, metadata["table_uri"].value
        assert (uri, version) == (
            store().uri(*table.split(".")),
            store().version(*table.split(".")),
        )
        commit = DeltaTable(uri).history(limit=1)[0]
        assert (commit["dagster_run_id"], commit["dagster_asset"]) == (run_id, key), commit
        with store().connect([table], versions={table: version}) as conn:
            frame = conn.execute(f"SELECT * FROM {table}").df()
        assert len(frame) == metadata["dagster/row_count"].value, (key, len(frame))
        if key != "raw_customers":
            # the content fingerprint, still the data version, of exactly what was published
            tags = instance.get_latest_materialization_event(dg.AssetKey(key)).tags
            assert frame_fingerprint(frame) == tags["dagster/data_version"], key
        assert metadata["quarantine_table_version"].value == 0, key
    inputs = (
        instance.get_latest_materialization_event(dg.AssetKey("customer_features"))
        .asset_materialization.metadata["input_table_versions"]
        .value
    )
    assert inputs == {"redacted.customers": 0, "redacted.transactions": 0}, inputs


def assert_restricted_zone_is_private() -> None:
    """Raw and quarantine tables are under restricted/, 0700 folders and 0600 files."""
    restricted = store().uri("raw", "customers").rsplit("/raw/", 1)[0]
    assert restricted.endswith("/restricted"), restricted
    paths = [Path(restricted), *Path(restricted).rglob("*")]
    assert {p.name for p in Path(restricted, "quarantine").iterdir()} == {
        "customers",
        "transactions",
        "redacted_customers",
        "redacted_transactions",
        "customer_features",
    }
    for path in paths:
        expected = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == expected, (path, oct(path.stat().st_mode))


def test_ingest_gate_blocks_a_file_with_too_many_bad_lines(project, instance, tmp_path):
    # given a customers file where most lines have the wrong number of fields
    good = (project / "data/raw/customers.csv").read_text().splitlines()
    bad = tmp_path / "customers_broken.csv"
    bad.write_text(
        "\n".join([good[0]] + [line + ",oops" for line in good[1:200]] + good[200:]) + "\n"
    )
    # when the job runs on it
    summary = run_churn(project, instance, {"customers": bad})
    # then the ingest contract blocks, naming why, and nothing downstream runs
    assert not summary.success
    verdict = gate(summary, "raw_customers", "ingest_contract")
    assert not verdict.passed and "above the contract's limit" in verdict.summary, verdict
    assert status(summary, "raw_customers") == "failed"
    assert status(summary, "redacted_customers") == "not run"
    assert status(summary, "churn_model") == "not run"
    assert table_rows("raw.customers") is None, "a table that failed its gate must not be published"
    assert any("ingest_contract" in f and "raw_customers" in f for f in summary.failures)


def test_residual_pii_gate_blocks_a_leaky_policy_and_keeps_the_old_table(
    project, instance, edit_file
):
    # given a first good run, then a policy edit that keeps email addresses
    assert run_churn(project, instance).success
    version = store().version("redacted", "customers")
    with tables() as conn:
        before = conn.execute("SELECT * FROM redacted.customers").df()
    edit_file(
        project / "policies/customers.yaml",
        "email:          {action: drop, entity: EMAIL_ADDRESS}",
        "email:          {action: keep}",
    )
    # when the job runs again
    summary = run_churn(project, instance)
    # then the residual-PII gate blocks, naming the column and entity, never a value
    verdict = gate(summary, "redacted_customers", "residual_pii")
    assert not verdict.passed and "EMAIL_ADDRESS" in verdict.summary, verdict
    assert "@" not in verdict.summary, "the gate's evidence must not hold a raw value"
    assert status(summary, "redacted_customers") == "failed"
    assert status(summary, "customer_features") == "not run"
    # and readers still see the previously published table, without an email column: the
    # same Delta version, the same rows
    with tables() as conn:
        columns = [r[0] for r in conn.execute("DESCRIBE redacted.customers").fetchall()]
        after = conn.execute("SELECT * FROM redacted.customers").df()
    assert "email" not in columns and len(after) == len(before)
    assert store().version("redacted", "customers") == version
    pd.testing.assert_frame_equal(after, before, obj="redacted.customers")


def test_contract_blocks_wrong_values_past_the_budget_and_stops_training(
    project, instance, tmp_path
):
    # given a transactions file with a negative amount on every line
    bad = with_negative_amount(project, tmp_path / "transactions_negative.csv")
    # when the job runs on it
    summary = run_churn(project, instance, {"transactions": bad})
    # then the clause that failed is named with the share it rejected, and no model is trained
    verdict = gate(summary, "redacted_transactions", "range__amount")
    assert not verdict.passed and "(100.00%)" in verdict.summary, verdict
    assert "over the budget 5.00%" in verdict.summary, verdict
    assert status(summary, "customer_features") == "not run"
    assert status(summary, "churn_model") == "not run"
    assert any("range__amount" in f for f in summary.failures)


def test_evaluation_gate_blocks_a_weak_model_from_the_registry(project, instance, edit_file):
    # given a declaration demanding an AUC no churn model reaches
    edit_file(project / "datasets/churn.yaml", "min_metric: 0.65", "min_metric: 0.99")
    # when the job runs
    summary = run_churn(project, instance)
    # then the model gate blocks and no version is registered
    verdict = gate(summary, "churn_model", "evaluation_gate")
    assert not verdict.passed and "< 0.99" in verdict.summary, verdict
    assert status(summary, "churn_model") == "failed"
    client = mlflow_client()
    assert not client.search_model_versions("name='churn_model'"), "nothing registered"
    runs = client.search_runs([client.get_experiment_by_name("governed-pipeline").experiment_id])
    assert runs and runs[0].data.tags["govern.gate.evaluation"] == "blocked", (
        "the blocked attempt is still logged, for the audit trail"
    )
