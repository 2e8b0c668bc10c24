"""Scale-out on Dagster's Celery executor: the same assets, steps run by Celery workers.

Two worker processes listen on a queue of their own on the local RabbitMQ; the code location
is told to use Celery by configuration only (GOVERN_EXECUTOR=celery); a four-partition backfill
is launched, two partitions at a time. Workers and launcher share the code location and the
Dagster instance (the SQLite one under DAGSTER_HOME works on one machine; PostgreSQL across
machines).
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from pipeline import settings
from pipeline.declarations.dataset import load_datasets
from pipeline.definitions import build_definitions
from pipeline.runs.backfill import backfill_dataset
from pipeline.runs.instance import ensure_dagster_home
from tests.helpers import (
    lay_out_project,
    point_at,
    require_service,
    split_into_daily_batches,
    start_govern,
    stop,
)

pytestmark = pytest.mark.e2e
BROKER = "pyamqp://guest:guest@127.0.0.1:5672//"
CELERY = Path(sys.executable).with_name("celery")


def start_worker(name: str, queue: str, log: Path) -> subprocess.Popen:
    """One Celery worker running Dagster's step task, in a process group of its own (the
    command the README gives for a worker machine)."""
    return subprocess.Popen(
        [
            str(CELERY),
            "-A",
            "pipeline.celery_app",
            "-b",
            BROKER,
            "worker",
            "-Q",
            queue,
            "-n",
            f"{name}@%h",
            # Imported before the pool forks: each pool process starts with the code loaded.
            "--include=pipeline.definitions",
            "--concurrency=1",
            "--prefetch-multiplier=1",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
        ],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env=dict(os.environ),
        start_new_session=True,
    )


def wait_ready(logs: list[Path], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(" ready." in log.read_text() for log in logs):
            return
        time.sleep(0.5)
    tails = {log.name: log.read_text()[-800:] for log in logs}
    raise AssertionError(f"the Celery workers did not start within {timeout} s: {tails}")


@pytest.fixture(scope="module")
def celery_project(
    tmp_path_factory: pytest.TempPathFactory, small_sample: Path
) -> Iterator[tuple[Path, list[str]]]:
    """This file's project, its transactions as four daily files (a partitioned source), with
    its environment set for the module: the project and its partition keys. The tests share
    it, and the workers: each worker imports the pipeline as it starts."""
    require_service("RabbitMQ", "127.0.0.1", 5672, "rabbitmq-server -detached")
    base = tmp_path_factory.mktemp("celery")
    project = lay_out_project(base / "project", small_sample)
    with pytest.MonkeyPatch.context() as env:
        point_at(env, project, base / "govern-home")
        # exported by ensure_dagster_home (the workers open the same instance); unset after
        env.setenv("DAGSTER_HOME", str(settings.dagster_home()))
        ensure_dagster_home()
        yield project, split_into_daily_batches(project)


@pytest.fixture(scope="module")
def celery_workers(celery_project: tuple[Path, list[str]]) -> Iterator[dict[str, subprocess.Popen]]:
    """Two workers on a queue unique to this file, by name; removed with the queue afterwards.
    The kill test runs last: it leaves one of them."""
    project, _ = celery_project
    queue = f"govern-test-{uuid.uuid4().hex[:10]}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GOVERN_EXECUTOR", "celery")
        env.setenv("GOVERN_CELERY_BROKER", BROKER)
        env.setenv("GOVERN_CELERY_QUEUE", queue)
        names = [f"w{i}-{queue}" for i in (1, 2)]
        logs = [project.parent / f"{name}.log" for name in names]
        workers = [start_worker(n, queue, log) for n, log in zip(names, logs, strict=True)]
        try:
            wait_ready(logs)
            yield dict(zip(names, workers, strict=True))
        finally:
            for worker in workers:
                stop(worker, timeout=30, group=True)
            from kombu import Connection

            with Connection(BROKER) as connection:
                connection.default_channel.queue_delete(queue)
        assert all(w.poll() is not None for w in workers), "no worker left running"


def step_attempts(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, str]]:
    """Each step a Celery worker began in a run, and the worker (``name@host``), in order,
    from the run's engine events."""
    began = []
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        data = record.dagster_event.event_specific_data
        worker = data.metadata.get("Celery worker") if data and data.metadata else None
        if worker is not None:
            began.append((record.step_key, worker.value))
    return began


def step_workers(instance: dg.DagsterInstance, run_id: str) -> dict[str, str]:
    """Which Celery worker ran each step of a run (the last to begin it)."""
    return dict(step_attempts(instance, run_id))


def test_a_four_partition_backfill_runs_across_two_celery_workers(celery_project, celery_workers):
    # given the transactions as four daily files and two workers on this file's queue
    project, keys = celery_project
    dataset = next(d for d in load_datasets(project) if d.name == "churn")
    defs = build_definitions(project)
    # when the backfill runs, two partitions at a time, on the Celery executor
    with dg.DagsterInstance.get() as instance:
        summary = backfill_dataset(defs, dataset, instance, parallel=2)
        runs = [*summary.partitions.values(), summary.downstream]
        workers = {run.run_id: step_workers(instance, run.run_id) for run in runs if run}
    # then every partition and the downstream run succeeded
    assert list(summary.partitions) == keys
    failures = {k: r.failures for k, r in summary.partitions.items() if not r.success}
    assert not failures, failures
    assert summary.downstream is not None and summary.downstream.success, (
        summary.downstream.failures if summary.downstream else "downstream not run"
    )
    # and every step ran in a Celery worker, steps in both of them
    for run in runs:
        materialized = {a.asset for a in run.assets if a.status == "materialized"}
        assert materialized <= set(workers[run.run_id]), (run.run_id, workers[run.run_id])
    hosts = {name.split("@")[0] for steps in workers.values() for name in steps.values()}
    assert hosts == set(celery_workers), f"steps ran in {hosts}, expected both workers"


def worker_running(
    instance: dg.DagsterInstance, step: str, timeout: float
) -> tuple[dg.DagsterRun, str]:
    """The started run and the worker's name once a Celery worker has begun ``step`` in it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
            began = [w for s, w in step_attempts(instance, run.run_id) if s == step]
            if began:
                return run, began[0].split("@")[0]
        time.sleep(0.2)
    raise AssertionError(f"no Celery worker began step {step} within {timeout} s")


def test_a_celery_worker_killed_mid_step_hands_the_step_to_the_other_and_the_backfill_ends(
    celery_project, celery_workers
):
    # given the transactions as daily files and two workers on this file's queue
    first_day = celery_project[1][0]
    # when a backfill of the first day runs, and the worker redacting it is killed (SIGKILL to
    # the worker and its pool process)
    backfill = start_govern("backfill", "--dataset", "churn", "--partition", first_day, "--json")
    with dg.DagsterInstance.get() as instance:
        try:
            run, killed = worker_running(instance, "redacted_transactions", timeout=600)
            os.killpg(celery_workers[killed].pid, signal.SIGKILL)
            out, err = backfill.communicate(timeout=600)
        except BaseException:
            stop(backfill, timeout=10)
            raise
        status = instance.get_run_by_id(run.run_id).status
        steps = step_attempts(instance, run.run_id)
    # then the backfill was not left waiting: the broker handed the step to the other worker,
    # which ran it again, and the partition's run succeeded
    assert backfill.returncode == 0, f"{err[-3000:]}{out[-2000:]}"
    [survivor] = set(celery_workers) - {killed}
    redactions = [w.split("@")[0] for s, w in steps if s == "redacted_transactions"]
    assert redactions == [killed, survivor], steps
    assert status == dg.DagsterRunStatus.SUCCESS, status
    # and the next run (the downstream assets, over every partition) started and succeeded
    downstream = json.loads(out)["downstream"]
    assert downstream and downstream["success"], downstream
