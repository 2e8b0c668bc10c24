"""Why did my model change? ``govern diff`` names data drift or a configuration edit."""

import json

import pytest

from pipeline.cli.app import main
from pipeline.declarations.dataset import load_datasets
from pipeline.definitions import build_definitions
from pipeline.runs.runner import run_dataset
from tests.helpers import gate, mlflow_client, status, with_scaled_amounts

pytestmark = pytest.mark.e2e


def diff(capsys, *args: str) -> tuple[dict, str]:
    capsys.readouterr()
    assert main(["diff", *args, "--json"]) == 0
    as_json = json.loads(capsys.readouterr().out)
    assert main(["diff", *args]) == 0
    return as_json, capsys.readouterr().out


def test_diff_names_a_hyperparameter_change_then_a_shifted_feature(
    project, instance, capsys, tmp_path, edit_file
):
    dataset = next(d for d in load_datasets(project) if d.name == "churn")
    defs = build_definitions(project)
    # given a first version on the sample (no champion yet: the drift gate passes with a note)
    first = run_dataset(defs, dataset, instance)
    assert first.success and "no champion" in gate(first, "customer_features", "drift").summary
    # and a second with one hyperparameter changed, on the same data: no drift
    slower = {"ops": {"churn_model": {"config": {"params": {"learning_rate": 0.2}}}}}
    second = run_dataset(defs, dataset, instance, extra_config=slower)
    assert second.success and gate(second, "customer_features", "drift").passed
    # then the diff names configuration, and the changed key, and no data change
    result, text = diff(capsys, "churn_model@1", "churn_model@2")
    assert result["cause"] == "configuration", result["verdict"]
    assert [c["item"] for c in result["configuration"]] == ["params.learning_rate"], result
    assert result["data"] == [] and result["code"] == [], result
    assert all(d["psi"] < 0.01 for d in result["drift"]), result["drift"]
    assert "verdict: configuration: params.learning_rate changed" in text, text
    # and each version's training profile is an artifact beside its BOM, hashed in the BOM
    client = mlflow_client()
    run_id = client.get_model_version("churn_model", "1").run_id
    assert "feature_profile.json" in [a.path for a in client.list_artifacts(run_id)]
    assert result["notes"] == [], "the profiles match the hashes their BOMs recorded"

    # when the same orders arrive booked in another currency
    shifted = {"transactions": with_scaled_amounts(project, tmp_path / "transactions.csv", 10)}
    blocked = run_dataset(defs, dataset, instance, shifted)
    # then the drift gate blocks training, naming the amount features with their PSI
    drift = gate(blocked, "customer_features", "drift")
    assert not blocked.success and not drift.passed and drift.blocking, drift
    assert not any("DagsterAssetCheckFailedError" in f for f in blocked.failures), blocked.failures
    assert "block_psi 0.25" in drift.summary, drift
    assert drift.summary.split("largest PSI ")[1].split()[0] in ("total_amount", "avg_amount")
    assert status(blocked, "churn_model") != "materialized", blocked.assets
    # and a rerun that finds the (published) feature table up to date still does not train
    again = run_dataset(defs, dataset, instance, shifted, only_stale=True)
    assert not again.success and "the drift gate on customer_features" in str(again.failures)
    # when the new data is accepted (blocking off in the declaration) and a model trained on it
    edit_file(
        project / "datasets/churn.yaml",
        "  name: customer_features\n",
        "  name: customer_features\n  drift: {block_psi: null}\n",
    )
    defs = build_definitions(project)
    summary = run_dataset(defs, dataset, instance, shifted)
    assert summary.success, summary.failures
    warned = gate(summary, "customer_features", "drift")
    assert not warned.passed and not warned.blocking, "the gate still warns"
    # then the diff from the first names the data change and an amount feature as the cause
    result, text = diff(capsys, "churn_model@1", "churn_model@3")
    assert result["cause"] == "data", result["verdict"]
    assert result["drift"][0]["feature"] in ("total_amount", "avg_amount"), result["drift"]
    assert result["drift"][0]["psi"] > 1 and result["drift"][0]["p_value"] < 1e-6
    assert {d["feature"] for d in result["drift"][:2]} == {"total_amount", "avg_amount"}
    assert "source transactions sha256" in [c["item"] for c in result["data"]], result["data"]
    assert "source transactions changed" in result["verdict"], result["verdict"]
    assert result["drift"][0]["feature"] in text.splitlines()[-1], text
    assert [c["item"] for c in result["configuration"]] == ["govern.dataset.churn.sha256"]
    assert "also changed: configuration" in result["verdict"], "the declaration edit is named"
    # and from the second, the large shift is still named first, the parameter as also changed
    result, _ = diff(capsys, "churn_model@2", "churn_model@3")
    assert result["cause"] == "data" and "also changed: configuration" in result["verdict"]
    # and an unknown version is a usage error naming it
    capsys.readouterr()
    assert main(["diff", "churn_model@1", "churn_model@99"]) == 2
    assert "churn_model@99" in capsys.readouterr().err
