"""The run-failure sensor undoes what a failed run committed but never recorded.

A run launched from the UI or by the daemon is not watched by ``govern run``: when its worker
dies mid-publish, Dagster's code server reports the run failed, and the daemon evaluates
``roll_back_failed_run`` on that failure. Here a real Dagster run publishes through the real
``Warehouse`` resource into real Delta tables; its step fails right after a commit (as a kill
between the commit and the materialization event would leave it), and the sensor is evaluated on
the run's real failure event.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from deltalake import DeltaTable

from assets.recovery import roll_back_failed_run
from assets.resources import Warehouse
from pipeline.definitions import build_definitions
from tests.helpers import REPO, point_at

ROWS = pd.DataFrame({"customer_id": ["a", "b"], "notes": ["<PERSON> called", "ok"]})


class Died(Exception):
    """Stands for the process dying after the commit: no materialization is recorded."""


def _publishing_job(die_after_commit: bool, *downstream: dg.AssetsDefinition) -> dg.JobDefinition:
    @dg.asset(name="redacted_customers")
    def redacted(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        rows = ROWS.assign(notes=ROWS["notes"] + f" ({context.run.run_id[:8]})")
        facts = warehouse.publish(context, "redacted.customers", rows)
        if die_after_commit:
            raise Died("killed between the Delta commit and Dagster's record of it")
        quarantine = warehouse.publish(context, "quarantine.redacted_customers", ROWS[:0])
        return dg.MaterializeResult(metadata={**facts, **quarantine})

    return dg.Definitions(
        assets=[redacted, *downstream], resources={"warehouse": Warehouse()}
    ).resolve_implicit_global_asset_job_def()


def _failure_event(instance: dg.DagsterInstance, run_id: str) -> dg.DagsterEvent:
    [record] = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    return record.dagster_event


def _evaluate(instance: dg.DagsterInstance, run: dg.DagsterRun) -> None:
    context = dg.build_run_status_sensor_context(
        sensor_name="roll_back_failed_run",
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=_failure_event(instance, run.run_id),
    ).for_run_failure()
    roll_back_failed_run(context)


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    point_at(monkeypatch, tmp_path / "project", tmp_path / "home", tmp_path / "tables")
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as dagster_instance:
        yield dagster_instance


def _latest_rows(tables: Path) -> list[str]:
    uri = str(tables / "published" / "redacted" / "customers")
    return DeltaTable(uri).to_pandas()["notes"].tolist()


def test_a_failed_runs_unrecorded_commit_is_undone_by_the_sensor(
    instance: dg.DagsterInstance, tmp_path: Path
):
    # given a clean run that published and recorded redacted.customers
    clean = _publishing_job(die_after_commit=False).execute_in_process(instance=instance)
    assert clean.success
    clean_rows = _latest_rows(tmp_path / "tables")
    # and a run whose step died right after committing a new version, before recording it
    died = _publishing_job(die_after_commit=True).execute_in_process(
        instance=instance, raise_on_error=False
    )
    assert not died.success
    assert _latest_rows(tmp_path / "tables") != clean_rows, "the dying run's commit landed"

    # when the sensor is evaluated on the run's failure
    _evaluate(instance, died.dagster_run)

    # then the table is restored to the clean version, in a commit naming the failed run
    assert _latest_rows(tmp_path / "tables") == clean_rows
    history = DeltaTable(str(tmp_path / "tables" / "published" / "redacted" / "customers"))
    assert history.history(limit=1)[0].get("govern_rolled_back_run") == died.run_id
    # and the run's event log says what was undone
    messages = [e.message for e in instance.all_logs(died.run_id)]
    assert any("redacted.customers@" in (m or "") for m in messages), messages


def test_a_failed_run_whose_commits_were_all_recorded_is_left_alone(
    instance: dg.DagsterInstance, tmp_path: Path
):
    # given a run that published and recorded, then failed in a later step
    @dg.asset(deps=["redacted_customers"])
    def customer_features() -> None:
        raise Died("a later step failed")

    failed = _publishing_job(False, customer_features).execute_in_process(
        instance=instance, raise_on_error=False
    )
    assert not failed.success
    uri = str(tmp_path / "tables" / "published" / "redacted" / "customers")
    version = DeltaTable(uri).version()

    # when the sensor is evaluated on its failure
    _evaluate(instance, failed.dagster_run)

    # then nothing is undone: what it committed, it recorded
    assert DeltaTable(uri).version() == version


def test_the_sensor_is_part_of_the_code_location_and_runs_by_default():
    definitions = build_definitions()
    sensor = definitions.get_sensor_def("roll_back_failed_run")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


# A run whose step commits redacted.customers, then stays alive without recording it: a step
# process that outlives its run worker (multiprocess or Celery executor).
STEP_OUTLIVES_RUN = """
import sys, time
from pathlib import Path
import dagster as dg
from assets.resources import Warehouse

@dg.asset(name="redacted_customers")
def redacted(context: dg.AssetExecutionContext, warehouse: Warehouse):
    import pandas as pd
    warehouse.publish(context, "redacted.customers", pd.DataFrame({"notes": ["late"]}))
    Path(sys.argv[1]).write_text(context.run.run_id)
    time.sleep(600)

job = dg.Definitions(assets=[redacted], resources={"warehouse": Warehouse()})
job.resolve_implicit_global_asset_job_def().execute_in_process(instance=dg.DagsterInstance.get())
"""


def test_a_commit_whose_step_still_runs_is_left_to_it_until_its_process_is_gone(
    instance: dg.DagsterInstance, tmp_path: Path
):
    # given a clean run, then a run whose step committed and still runs in its own process
    assert _publishing_job(die_after_commit=False).execute_in_process(instance=instance).success
    clean_rows = _latest_rows(tmp_path / "tables")
    marker = tmp_path / "committed"
    step = subprocess.Popen(
        [sys.executable, "-c", STEP_OUTLIVES_RUN, str(marker)],
        cwd=REPO,
        env={**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster")},
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert step.poll() is None and time.monotonic() < deadline, "the step never committed"
            time.sleep(0.1)
        run = instance.get_run_by_id(marker.read_text())
        # when its run worker is reported dead (as the code server reports it) and the sensor runs
        instance.report_run_failed(run)
        _evaluate(instance, run)
        # then the step's commit is left to it, and the run's log says why
        assert _latest_rows(tmp_path / "tables") == ["late"]
        assert any(
            "still running" in (record.message or "") for record in instance.all_logs(run.run_id)
        )
    finally:
        step.kill()
        step.wait()
    # and once the step's process is gone too, the next evaluation undoes the commit
    _evaluate(instance, instance.get_run_by_id(run.run_id))
    assert _latest_rows(tmp_path / "tables") == clean_rows


def test_a_table_that_cannot_be_read_is_named_and_the_others_are_still_restored(
    instance: dg.DagsterInstance, tmp_path: Path
):
    # given a clean run of two tables, then a run that died after committing to both
    @dg.asset(deps=["redacted_customers"])
    def customer_features(context: dg.AssetExecutionContext, warehouse: Warehouse) -> None:
        warehouse.publish(context, "features.customer_features", ROWS)

    assert _publishing_job(False, customer_features).execute_in_process(instance=instance).success
    clean_rows = _latest_rows(tmp_path / "tables")

    @dg.asset(name="customer_features", deps=["redacted_customers"])
    def features_then_die(context: dg.AssetExecutionContext, warehouse: Warehouse) -> None:
        warehouse.publish(context, "features.customer_features", ROWS[:1])
        warehouse.publish(context, "redacted.customers", ROWS[:1])
        raise Died("killed between the Delta commits and Dagster's record of them")

    died = dg.Definitions(
        assets=[features_then_die], resources={"warehouse": Warehouse()}
    ).resolve_implicit_global_asset_job_def()
    failed = died.execute_in_process(instance=instance, raise_on_error=False)
    # and the features table's latest log entry is broken
    log = tmp_path / "tables" / "published" / "features" / "customer_features" / "_delta_log"
    max(log.glob("*.json")).write_text("not json\n")

    # when the sensor is evaluated on the failure
    _evaluate(instance, failed.dagster_run)

    # then the readable table is restored, and the other is named with the reason
    assert _latest_rows(tmp_path / "tables") == clean_rows
    messages = " ".join(record.message or "" for record in instance.all_logs(failed.run_id))
    assert "redacted.customers@" in messages
    assert "features.customer_features left as it is: could not be checked or restored" in messages
