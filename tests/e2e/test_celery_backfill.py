"""Scale-out on Dagster's Celery executor: the same assets, steps run by Celery workers.

Two worker processes listen on a queue of their own on the local RabbitMQ; the code location
is told to use Celery by configuration only (GOVERN_EXECUTOR=celery); a four-partition backfill
is launched, two partitions at a time. Workers and launcher share the code location and the
Dagster instance (the SQLite one under DAGSTER_HOME works on one machine; PostgreSQL across
machines).
"""

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

from pipeline.declarations.dataset import load_datasets
from pipeline.definitions import build_definitions
from pipeline.runs.backfill import backfill_dataset
from pipeline.runs.instance import ensure_dagster_home
from tests.helpers import require_service, split_into_daily_batches

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
            "dagster_celery.app",
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


def stop(worker: subprocess.Popen) -> None:
    """Warm shutdown of the worker and its pool children (their own process group)."""
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)


@pytest.fixture
def celery_workers(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Two workers on a queue unique to this test; removed with the queue afterwards."""
    require_service("RabbitMQ", "127.0.0.1", 5672, "rabbitmq-server -detached")
    queue = f"govern-test-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("GOVERN_EXECUTOR", "celery")
    monkeypatch.setenv("GOVERN_CELERY_BROKER", BROKER)
    monkeypatch.setenv("GOVERN_CELERY_QUEUE", queue)
    ensure_dagster_home()  # exports DAGSTER_HOME: the workers open the same instance
    names = [f"w{i}-{queue}" for i in (1, 2)]
    logs = [project.parent / f"{name}.log" for name in names]
    workers = [start_worker(n, queue, log) for n, log in zip(names, logs, strict=True)]
    try:
        wait_ready(logs)
        yield names
    finally:
        for worker in workers:
            stop(worker)
        from kombu import Connection

        with Connection(BROKER) as connection:
            connection.default_channel.queue_delete(queue)
    assert all(w.poll() is not None for w in workers), "no worker left running"


def step_workers(instance: dg.DagsterInstance, run_id: str) -> dict[str, str]:
    """Which Celery worker ran each step of a run, from the run's engine events."""
    ran = {}
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        data = record.dagster_event.event_specific_data
        worker = data.metadata.get("Celery worker") if data and data.metadata else None
        if worker is not None:
            ran[record.step_key] = worker.value
    return ran


def test_a_four_partition_backfill_runs_across_two_celery_workers(project, celery_workers):
    # given the transactions as four daily files and two workers on the test's queue
    keys = split_into_daily_batches(project)
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
