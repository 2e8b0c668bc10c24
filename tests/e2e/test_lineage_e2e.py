"""Lineage an auditor can use: BOM, lineage, reproduce, report, promotion and staleness."""

import json
import subprocess

import dagster as dg
import pandas as pd
import pytest
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
from dagster._core.loader import LoadingContextForTest
from deltalake import DeltaTable

from pipeline.cli.app import main
from pipeline.declarations.dataset import load_datasets
from pipeline.definitions import build_definitions
from pipeline.runs.runner import run_dataset
from tests.helpers import mlflow_client, run_churn, store

pytestmark = pytest.mark.e2e


def cli_json(capsys, *args: str) -> dict:
    capsys.readouterr()
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_lineage_gives_sha256sum_of_each_source_and_reproduce_matches(
    project, instance, capsys, tmp_path, monkeypatch
):
    # given a run, with its tables under a storage root of their own, that registered the
    # first version as champion (a run of its own, not the shared one: this test changes a
    # landing file and vacuums a table)
    monkeypatch.setenv("GOVERN_TABLES", str(tmp_path / "shared-tables"))
    assert run_churn(project, instance).success
    published = {name: store().version(*name.split(".")) for name in store().published()}
    # when the champion's lineage is asked for
    lineage = cli_json(capsys, "lineage", "churn_model@champion")
    # then each source's sha256 is exactly what sha256sum prints
    for source, facts in lineage["sources"].items():
        printed = subprocess.run(
            ["sha256sum", str(project / facts["path"])], check=True, capture_output=True, text=True
        ).stdout.split()[0]
        assert facts["sha256"] == printed, source
    assert lineage["model"]["alias"] == "champion"
    assert lineage["redaction"]["customers"]["policy_sha256"], "the policy hash is recorded"
    residual = lineage["redaction"]["customers"]["residual_pii"]
    assert residual["verifier"].startswith("presidio-analyzer"), "the verifier is named"
    assert residual["cells_scanned"] > 0, "the verifier read the redacted text"
    bound = residual["residual_rate_upper_bound"]
    assert 0 <= bound <= residual["max_residual_rate"], "the bound is recorded within budget"
    assert all(c["passed"] for c in lineage["contracts"]["redacted_customers"])
    # and the BOM is an artifact of the model's MLflow run
    client = mlflow_client()
    run_id = client.get_model_version("churn_model", "1").run_id
    assert "bom.json" in [a.path for a in client.list_artifacts(run_id)]
    # and the BOM names each table's Delta version, and so do the model version's MLflow tags
    features = lineage["assets"]["customer_features"]
    assert features["table_version"] == 0, features
    assert features["table_uri"] == store().uri("features", "customer_features"), features
    tags = client.get_model_version("churn_model", "1").tags
    assert tags["dagster.asset.customer_features.table_version"] == "0", tags
    # when the landing file changes after training (a new delivery of the same source)
    customers = project / "data/raw/customers.csv"
    customers.write_text("\n".join(customers.read_text().splitlines()[:-50]) + "\n")
    # then reproduce reads the recorded table versions, not the landing files: it retrains on
    # the feature table at its version and every table's content and every metric match
    capsys.readouterr()
    assert main(["reproduce", "churn_model@1"]) == 0
    out = capsys.readouterr().out
    assert "churn_model v1: MATCH: retrained on the recorded table versions" in out, out
    assert "source file data/raw/customers.csv (customers)" in out, "the new file is named"
    # and it wrote nothing: the shared root holds the same versions
    assert {name: store().version(*name.split(".")) for name in store().published()} == published
    # and the audit report is written as Markdown and HTML
    assert main(["report", "churn_model@1", "--out", str(tmp_path / "reports")]) == 0
    markdown = (tmp_path / "reports" / "churn_model-v1.md").read_text()
    html = (tmp_path / "reports" / "churn_model-v1.html").read_text()
    assert lineage["sources"]["customers"]["sha256"] in markdown and "<table>" in html
    # and it links both ways: to the MLflow run and model version, and to the Dagster run
    from pipeline import settings

    mlflow_run = client.get_model_version("churn_model", "1").run_id
    dagster_run = lineage["dagster"]["run_id"]
    assert f'href="{settings.mlflow_ui_url()}/#/runs/{mlflow_run}"' in html
    assert f'href="{settings.mlflow_ui_url()}/#/models/churn_model/versions/1"' in html
    assert f'href="{settings.dagster_ui_url()}/runs/{dagster_run}"' in html
    # when the feature table gets a later version and is vacuumed with no retention (no
    # erasure: a housekeeping job), so the recorded version's files are gone
    store().publish("features", "customer_features", pd.DataFrame({"x": [1]}))
    DeltaTable(features["table_uri"]).vacuum(
        retention_hours=0, dry_run=False, enforce_retention_duration=False
    )
    # then reproduce cannot read it, says which table and version and what to do, exit 4
    capsys.readouterr()
    assert main(["reproduce", "churn_model@1"]) == 4
    out = capsys.readouterr().out
    assert "CANNOT REPRODUCE: recorded table versions are gone" in out, out
    assert "features.customer_features version 0 (asset customer_features)" in out, out
    assert "data files were removed (vacuumed)" in out and "--rebuild" in out, out
    assert "erasure" not in out.split("what to do")[0], "no erasure is blamed for a vacuum"


def test_a_policy_edit_marks_downstream_stale_and_shows_in_the_new_lineage(
    project, instance, edit_file, capsys
):
    # given a first run, then one policy line changed
    assert run_churn(project, instance).success
    first = cli_json(capsys, "lineage", "churn_model@1")
    edit_file(project / "policies/customers.yaml", "keep_chars: 2", "keep_chars: 3")
    # when Dagster looks at the graph before the rerun, the policy's asset and everything
    # downstream of it is stale
    graph = build_definitions(project).get_repository_def().asset_graph
    resolver = CachingStaleStatusResolver(instance, graph, LoadingContextForTest(instance))
    for key in ("redacted_customers", "customer_features", "churn_model"):
        assert resolver.get_status(dg.AssetKey(key)) == StaleStatus.STALE, key
    assert resolver.get_status(dg.AssetKey("raw_customers")) == StaleStatus.FRESH
    # and after the rerun, the new model's lineage shows the new policy hash
    assert run_churn(project, instance).success
    second = cli_json(capsys, "lineage", "churn_model@2")
    old, new = (x["redaction"]["customers"]["policy_sha256"] for x in (first, second))
    assert old != new, "the policy hash must change with the policy"
    # and the first version still reproduces from its recorded table versions, which the
    # second run did not touch, while the policy is named as changed since
    capsys.readouterr()
    assert main(["reproduce", "churn_model@1"]) == 0
    out = capsys.readouterr().out
    assert "MATCH" in out and "policy policies/customers.yaml" in out, out
    # and rebuilding it from its landing files with today's policy names what now differs
    assert main(["reproduce", "churn_model@1", "--rebuild"]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH: rebuilt in a scratch location" in out, out
    assert "policy policies/customers.yaml" in out, out
    assert "data version of redacted_customers" in out, out


def test_champion_moves_only_to_a_better_model(project, instance):
    dataset = next(d for d in load_datasets(project) if d.name == "churn")
    defs = build_definitions(project)
    client = mlflow_client()
    # given a first version, then an identical second one: a tie, which does not take the title
    first = run_dataset(defs, dataset, instance)
    second = run_dataset(defs, dataset, instance)
    assert first.success and second.success, first.failures + second.failures
    assert second.model["version"] == "2", second.model
    champion = client.get_model_version_by_alias("churn_model", "champion")
    assert str(champion.version) == "1", client.get_model_version("churn_model", "2").tags
    tie = client.get_model_version("churn_model", "2")
    assert tie.tags["govern.promotion.decision"] == "challenger", tie.tags
    # and each version carries its Dagster run and data versions, as its source run does
    assert tie.tags["dagster.run_id"] == second.run_id, tie.tags
    assert tie.tags["dagster.run_url"] == f"http://127.0.0.1:3000/runs/{second.run_id}"
    # and Dagster links back: the model's materialization carries clickable MLflow URLs
    event = instance.get_latest_materialization_event(dg.AssetKey("churn_model"))
    links = event.asset_materialization.metadata
    assert links["mlflow_model_version_url"].url.endswith("/#/models/churn_model/versions/2")
    assert links["mlflow_run_url"].url.endswith(f"/runs/{tie.run_id}"), links["mlflow_run_url"]
    source_run = client.get_run(tie.run_id).data.tags
    versions = {k: v for k, v in source_run.items() if k.startswith("dagster.asset.")}
    assert versions and all(tie.tags[k] == v for k, v in versions.items()), tie.tags
    assert "<= champion v1" in tie.tags["govern.promotion.reason"], tie.tags
    # when a third is trained with a crippled estimator that still passes the floor
    weak = {"ops": {"churn_model": {"config": {"params": {"max_iter": 2, "max_depth": 1}}}}}
    summary = run_dataset(defs, dataset, instance, extra_config=weak)
    # then it is registered as challenger, the champion stays, and the reason is recorded
    assert summary.success, summary.failures
    assert str(client.get_model_version_by_alias("churn_model", "champion").version) == "1"
    third = client.get_model_version_by_alias("churn_model", "challenger")
    assert str(third.version) == "3" and third.tags["govern.promotion.decision"] == "challenger"
    assert "<= champion v1" in third.tags["govern.promotion.reason"], third.tags
