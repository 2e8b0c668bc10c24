"""The run-failure sensor undoes what a failed run committed but never recorded.

A run launched from the UI or by the daemon is not watched by ``govern run``: when its worker
dies mid-publish, Dagster's code server reports the run failed, and the daemon evaluates
``roll_back_failed_run`` on that failure. Here a real Dagster run publishes through the real
``Warehouse`` resource into real Delta tables; its step fails right after a commit (as a kill
between the commit and the materialization event would leave it), and the sensor is evaluated on
the run's real failure event.
"""

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from deltalake import DeltaTable

from assets.recovery import roll_back_failed_run
from assets.resources import Warehouse
from pipeline.definitions import build_definitions
from tests.helpers import point_at

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
