"""Two runs of one dataset at once, each on its own files (two `govern run`, or one launched from
the UI beside one from the CLI): both succeed, and each run's tables, model and lineage are
built from its own inputs only.

They publish new versions of the same Delta tables; each step reads the version its own run
published (looked up in the run's event log), never the latest, which may be the other run's.
"""

import json
from pathlib import Path

import dagster as dg
import pytest

from tests.helpers import (
    LOCK_ERRORS,
    assert_built_from_own_inputs,
    fewer_customers,
    finished_run,
    govern_ui,
    graphql,
    materialized_facts,
    start_govern,
)

pytestmark = pytest.mark.e2e


def test_two_concurrent_runs_on_different_files_each_build_from_their_own_inputs(
    project: Path, tmp_path: Path
):
    # given the declared customers file and another one, without its last 150 customers
    declared = project / "data" / "raw" / "customers.csv"
    other = fewer_customers(project, tmp_path / "fewer-customers.csv")
    own_file = {"declared": declared, "other": other}
    # when two runs of churn start at once, one on each
    runs = {
        "declared": start_govern("run", "--dataset", "churn", "--force", "--json"),
        "other": start_govern(
            "run", "--dataset", "churn", "--force", "--json", "--source", f"customers={other}"
        ),
    }
    outputs = {name: run.communicate(timeout=900) for name, run in runs.items()}
    # then both succeed, with no lock error
    summaries = {}
    for name, (out, err) in outputs.items():
        assert runs[name].returncode == 0, f"{name}: {err[-3000:]}{out[-2000:]}"
        assert not LOCK_ERRORS.search(err + out), f"{name}: {LOCK_ERRORS.search(err + out)}"
        [summaries[name]] = json.loads(out)
    # and each run's tables, model and lineage come from its own file, with no row lost
    for name, summary in summaries.items():
        facts = {asset["asset"]: asset["facts"] for asset in summary["assets"]}
        assert_built_from_own_inputs(name, summary["run_id"], facts, own_file[name])
    assert summaries["declared"]["model"]["version"] != summaries["other"]["model"]["version"]


LAUNCH_CHURN = """
mutation {
  launchRun(executionParams: {
    selector: {repositoryLocationName: "governed_pipeline", repositoryName: "__repository__",
               jobName: "churn_job"},
    runConfigData: "{}"
  }) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}
"""


def test_a_run_launched_from_the_ui_beside_one_from_the_cli_each_build_from_their_own_inputs(
    project: Path, instance: dg.DagsterInstance, tmp_path: Path
):
    # given `govern ui` serving the project, and a customers file of its own for the CLI run
    declared = project / "data" / "raw" / "customers.csv"
    other = fewer_customers(project, tmp_path / "fewer-customers.csv")
    with govern_ui(tmp_path / "govern-ui.log") as port:
        # when the churn job is launched from the UI (on the declared files) and `govern run`
        # starts at once on the other file
        launched = graphql(port, LAUNCH_CHURN)["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        ui_run = launched["run"]["runId"]
        cli = start_govern(
            "run", "--dataset", "churn", "--force", "--json", "--source", f"customers={other}"
        )
        out, err = cli.communicate(timeout=900)
        ui_status = finished_run(instance, ui_run, timeout=900).status
    # then both succeeded, at the same time, with no lock error
    assert cli.returncode == 0, f"{err[-3000:]}{out[-2000:]}"
    assert ui_status == dg.DagsterRunStatus.SUCCESS, ui_status
    [summary] = json.loads(out)
    records = {r: instance.get_run_record_by_id(r) for r in (ui_run, summary["run_id"])}
    assert max(r.start_time for r in records.values()) < min(
        r.end_time for r in records.values()
    ), "the runs did not overlap"
    ui_log = "\n".join(record.message for record in instance.all_logs(ui_run))
    for name, text in {"ui": ui_log, "cli": err + out}.items():
        assert not LOCK_ERRORS.search(text), f"{name}: {LOCK_ERRORS.search(text)}"
    # and each run's tables, model and lineage come from its own file, with no row lost
    assert_built_from_own_inputs("ui", ui_run, materialized_facts(instance, ui_run), declared)
    facts = {asset["asset"]: asset["facts"] for asset in summary["assets"]}
    assert_built_from_own_inputs("cli", summary["run_id"], facts, other)
