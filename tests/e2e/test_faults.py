"""Faults survived: `kill -9` of a `govern run` while it redacts, and while it publishes.

A killed run's process cannot say it failed: the next `govern run` marks it failed (it used to
stay STARTED for ever and, while the assets shared a DuckDB pool, to block the next run) and
undoes any Delta commit it made but never recorded. Readers see the tables at the versions the
last recorded materializations published, and a rerun rebuilds the same data versions as a
clean run. One clean baseline serves every assertion: the suite is slow enough. It is
`govern run` in this process (nothing is dead yet that it could wait behind); the killed runs
and the rerun are processes of their own, the rerun with a deadline.
"""

import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from deltalake import DeltaTable

from assets.recovery import recorded_table_versions
from pipeline.cli.app import main
from pipeline.storage.tables import table_name_of
from tests.helpers import (
    REPO,
    fewer_customers,
    materialized_facts,
    start_govern,
    step_started,
    store,
)

pytestmark = pytest.mark.e2e
ASSETS = ("raw_customers", "raw_transactions", "redacted_customers", "redacted_transactions")
ASSETS += ("customer_features", "churn_model")
# `govern`, frozen right after a table's Delta commit (see the launcher's docstring).
FREEZE_AFTER_COMMIT = [sys.executable, str(REPO / "tests" / "freeze_after_commit.py")]


def _finish(process: subprocess.Popen, timeout: float = 600) -> str:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("the run did not finish: did it wait behind a dead one?") from None
    assert process.returncode == 0, (err + out)[-3000:]
    return out


def _kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()


def _table_versions() -> dict[str, int]:
    tables = store()
    return {name: tables.version(*name.split(".")) for name in tables.published()}


def _data_versions(instance: dg.DagsterInstance) -> dict[str, str]:
    """Each asset's data version, as its latest materialization recorded it."""
    versions = {}
    for asset in ASSETS:
        event = instance.get_latest_materialization_event(dg.AssetKey(asset))
        versions[asset] = event.asset_materialization.tags["dagster/data_version"]
    return versions


def _recorded_versions(instance: dg.DagsterInstance, run_id: str) -> dict[str, set[int]]:
    """The table versions run ``run_id`` recorded as published, by table name."""
    recorded = recorded_table_versions(instance, run_id)
    return {table_name_of(uri): versions for uri, versions in recorded.items()}


def _wait_for(marker: Path, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if process.poll() is not None:
            raise AssertionError(f"the run ended first: {process.communicate()[1][-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no commit to freeze after within {timeout} s")
        time.sleep(0.2)


def _status(instance: dg.DagsterInstance, run_id: str) -> dg.DagsterRunStatus:
    return instance.get_run_by_id(run_id).status


def test_runs_killed_while_redacting_and_publishing_leave_the_published_tables_and_a_rerun_rebuilds_them(  # noqa: E501
    project: Path, instance: dg.DagsterInstance, tmp_path: Path, capsys: pytest.CaptureFixture
):
    # given a clean run of churn: the table versions and data versions to compare against
    assert main(["run", "--dataset", "churn"]) == 0, capsys.readouterr().err[-3000:]
    clean_tables, clean_data = _table_versions(), _data_versions(instance)
    other = ["--source", f"customers={fewer_customers(project, tmp_path / 'fewer.csv')}"]

    # when a run on another customers file is killed while it redacts
    redacting = start_govern("run", "--dataset", "churn", *other)
    try:
        first = step_started(instance, "redacted_customers", timeout=300).run_id
    finally:
        _kill(redacting)
    # then it is left STARTED (nothing else watches an in-process run) and every table is at
    # its clean version, but for what the killed run recorded publishing (its ingest)
    assert _status(instance, first) == dg.DagsterRunStatus.STARTED
    recorded = _recorded_versions(instance, first)
    assert "redacted.customers" not in recorded
    for name, version in _table_versions().items():
        assert version == clean_tables[name] or version in recorded.get(name, ()), name

    # when the next run (on the same file) is killed just after it committed redacted.customers,
    # before the quarantine table of that asset and before Dagster recorded either
    marker = tmp_path / "committed"
    publishing = start_govern(
        "redacted/customers", str(marker), "run", "--dataset", "churn", *other,
        command=FREEZE_AFTER_COMMIT,
    )  # fmt: skip
    try:
        _wait_for(marker, publishing, timeout=300)
    finally:
        _kill(publishing)
    # then it has marked the first killed run failed, and left an unrecorded commit behind
    assert _status(instance, first) == dg.DagsterRunStatus.FAILURE
    [second] = [r.run_id for r in instance.get_runs(limit=1)]
    assert _status(instance, second) == dg.DagsterRunStatus.STARTED
    half_published = _table_versions()
    assert half_published["redacted.customers"] > clean_tables["redacted.customers"]
    assert (
        half_published["quarantine.redacted_customers"]
        == (clean_tables["quarantine.redacted_customers"])
    )
    assert "redacted_customers" not in materialized_facts(instance, second)

    # when `govern run` runs again, on the declared files
    output = _finish(start_govern("run", "--dataset", "churn"))
    # then it marked the killed run failed, saying why, and undid its unrecorded commit first:
    # the version it restored holds exactly the clean run's rows
    assert f"run {second} was left unfinished" in output
    assert _status(instance, second) == dg.DagsterRunStatus.FAILURE
    failure = instance.all_logs(second, of_type=dg.DagsterEventType.RUN_FAILURE)[-1].message
    assert "process running this run is gone" in failure
    uri = store().uri("redacted", "customers")
    [restored] = [
        int(entry["version"])
        for entry in DeltaTable(uri).history()
        if entry.get("govern_rolled_back_run") == second
    ]
    assert restored == half_published["redacted.customers"] + 1
    assert f"redacted.customers@{restored}" in failure
    snapshot = store().snapshot
    assert (
        snapshot("redacted", "customers", restored)
        .dataset.to_table()
        .equals(
            snapshot("redacted", "customers", clean_tables["redacted.customers"]).dataset.to_table()
        )
    )
    # and the rerun rebuilt every asset to the clean run's data version
    assert _data_versions(instance) == clean_data
    assert "model: churn_model version" in output
