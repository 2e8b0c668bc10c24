"""Faults survived: a `govern run` killed mid-step is marked failed by the next one (it used to
stay STARTED for ever, and, while the assets shared a DuckDB pool, to block the next run)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from tests.helpers import REPO, store

pytestmark = pytest.mark.e2e
GOVERN = [sys.executable, "-c", "from pipeline.cli.app import main; raise SystemExit(main())"]


def _govern(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*GOVERN, *args],
        cwd=REPO,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _step_started(instance: dg.DagsterInstance, step: str, timeout: float) -> dg.DagsterRun:
    """The started run once ``step`` has begun in it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
            starts = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)
            if any(event.step_key == step for event in starts):
                return run
        time.sleep(0.2)
    raise AssertionError(f"no run reached step {step} within {timeout} s")


def test_a_killed_run_is_marked_failed_and_the_next_run_starts_at_once(
    project: Path, instance: dg.DagsterInstance
):
    # given a `govern run` killed with SIGKILL while it redacts (its step holds a pool slot)
    killed = _govern("run", "--dataset", "churn")
    try:
        run = _step_started(instance, "redacted_customers", timeout=240)
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED, (
        "a killed in-process run is left STARTED: nothing else watches it"
    )
    # when the next `govern run` starts
    rerun = _govern("run", "--dataset", "churn")
    try:
        output, _ = rerun.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        rerun.kill()
        raise AssertionError("the next run waited behind the dead one") from None
    # then it says so, marks the dead run failed, and runs to the end
    assert rerun.returncode == 0, output[-2000:]
    assert f"run {run.run_id} was left unfinished" in output
    dead = instance.get_run_by_id(run.run_id)
    assert dead.status == dg.DagsterRunStatus.FAILURE
    failure = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert "process running this run is gone" in failure[-1].message
    assert "model: churn_model version 1" in output


ASSETS = [
    "raw_customers",
    "raw_transactions",
    "redacted_customers",
    "redacted_transactions",
    "customer_features",
    "churn_model",
]


def _data_versions(instance: dg.DagsterInstance) -> dict[str, str]:
    """Each churn asset's data version, as its latest materialization recorded it."""
    versions = {}
    for key in ASSETS:
        event = instance.get_latest_materialization_event(dg.AssetKey(key))
        versions[key] = event.asset_materialization.tags["dagster/data_version"]
    return versions


def _new_data_file(table: Path, before: set[str], timeout: float) -> None:
    """Return as soon as a publish writes a new data file into ``table`` (its Delta commit,
    the one small JSON file that makes the version, comes right after)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if {p.name for p in table.glob("*.parquet")} - before:
            return
        time.sleep(0.01)
    raise AssertionError(f"no publish into {table} within {timeout} s")


def _rows(schema: str, table: str, version: int | None = None) -> int:
    return store().snapshot(schema, table, version).dataset.count_rows()


def test_a_run_killed_while_publishing_leaves_whole_tables_and_reexecution_matches_a_clean_run(
    project: Path, instance: dg.DagsterInstance
):
    # given a clean run: its tables' versions, rows and data versions
    clean = _govern("run", "--dataset", "churn")
    output, _ = clean.communicate(timeout=600)
    assert clean.returncode == 0, output[-2000:]
    before = {name: store().version(*name.split(".")) for name in store().published()}
    clean_versions = _data_versions(instance)
    redacted = Path(store().uri("redacted", "customers"))
    files = {p.name for p in redacted.glob("*.parquet")}
    # when a forced rerun is killed with SIGKILL the moment it writes redacted.customers' new files
    killed = _govern("run", "--dataset", "churn", "--force")
    try:
        _new_data_file(redacted, files, timeout=400)
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    # then every published table reads whole at its latest version: the clean run's rows, as
    # at its previous version (a Delta commit is all or nothing)
    for name, version in before.items():
        schema, table = name.split(".")
        assert _rows(schema, table) == _rows(schema, table, version), name
    # and the downstream tables were not touched: the killed run never reached them
    assert store().version("features", "customer_features") == before["features.customer_features"]
    # when the next run starts
    rerun = _govern("run", "--dataset", "churn", "--force")
    try:
        output, _ = rerun.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        rerun.kill()
        raise AssertionError("the next run waited behind the killed one") from None
    # then it marks the killed run failed, runs to the end, and gives the clean run's data
    # versions
    assert rerun.returncode == 0, output[-2000:]
    assert "was left unfinished" in output, output[-2000:]
    assert _data_versions(instance) == clean_versions
