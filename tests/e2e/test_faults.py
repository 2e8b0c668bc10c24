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

from tests.helpers import REPO

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
