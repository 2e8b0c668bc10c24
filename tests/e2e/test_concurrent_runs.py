"""Three runs of one dataset at once, each on its own files: one launched from the UI, two by
`govern run` from the command line. All succeed, and each run's tables, model and lineage are
built from its own inputs only.

They publish new versions of the same Delta tables; each step reads the version its own run
published (looked up in the run's event log), never the latest, which may be another run's.
One scenario covers both pairings (command line beside command line, UI beside command line):
each run is a process importing the whole pipeline, the costly part on two cores.
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


def test_a_ui_run_and_two_cli_runs_at_once_each_build_from_their_own_inputs(
    project: Path, instance: dg.DagsterInstance, tmp_path: Path
):
    # given `govern ui` serving the project, and two customers files of their own for two
    # command-line runs (without the last 150 and the last 250 customers)
    own_file = {
        "ui": project / "data" / "raw" / "customers.csv",
        "cli-1": fewer_customers(project, tmp_path / "fewer-customers.csv"),
        "cli-2": fewer_customers(project, tmp_path / "fewer-still.csv", dropped=250),
    }
    with govern_ui(tmp_path / "govern-ui.log") as port:
        # when the churn job is launched from the UI (on the declared files) and two
        # `govern run` start at once, each on its own file
        launched = graphql(port, LAUNCH_CHURN)["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        ui_run = launched["run"]["runId"]
        run = ["run", "--dataset", "churn", "--force", "--json", "--source"]
        cli = {
            name: start_govern(*run, f"customers={own_file[name]}") for name in ("cli-1", "cli-2")
        }
        outputs = {name: run.communicate(timeout=900) for name, run in cli.items()}
        ui_status = finished_run(instance, ui_run, timeout=900).status
    # then all three succeeded, with no lock error
    assert ui_status == dg.DagsterRunStatus.SUCCESS, ui_status
    summaries = {}
    for name, (out, err) in outputs.items():
        assert cli[name].returncode == 0, f"{name}: {err[-3000:]}{out[-2000:]}"
        assert not LOCK_ERRORS.search(err + out), f"{name}: {LOCK_ERRORS.search(err + out)}"
        [summaries[name]] = json.loads(out)
    ui_log = "\n".join(record.message for record in instance.all_logs(ui_run))
    assert not LOCK_ERRORS.search(ui_log), f"ui: {LOCK_ERRORS.search(ui_log)}"
    # and each command-line run overlapped both others in time
    run_ids = {"ui": ui_run, **{name: s["run_id"] for name, s in summaries.items()}}
    records = {name: instance.get_run_record_by_id(r) for name, r in run_ids.items()}
    for name in summaries:
        for other, record in records.items():
            if other != name:
                mine = records[name]
                assert max(mine.start_time, record.start_time) < min(
                    mine.end_time, record.end_time
                ), f"{name} and {other} did not overlap"
    # and each run's tables, model and lineage come from its own file, with no row lost
    facts = {name: {a["asset"]: a["facts"] for a in s["assets"]} for name, s in summaries.items()}
    facts["ui"] = materialized_facts(instance, ui_run)
    for name, run_id in run_ids.items():
        assert_built_from_own_inputs(name, run_id, facts[name], own_file[name])
    versions = {f["churn_model"]["registered_version"] for f in facts.values()}
    assert len(versions) == 3, f"three model versions, one per run: {versions}"
