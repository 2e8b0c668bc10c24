"""The production profile, one setting away: ``GOVERN_PROFILE=production`` on real PostgreSQL.

The same code as the embedded default: Dagster's runs, events and checks go to one PostgreSQL
database, MLflow's tracking store and model registry to another, tables stay Delta under the
storage root. Each test gets throwaway databases on the local server (``GOVERN_TEST_PG``,
default ``postgresql://postgres@127.0.0.1:5432/test``), dropped afterwards; without the server
the tests skip saying how to start it (and fail under ``GOVERN_REQUIRE_SERVICES=1``, as in CI).
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg2
import pytest

from pipeline import settings
from pipeline.cli.app import main
from pipeline.runs.instance import local_instance
from tests.helpers import (
    GOVERN,
    REPO,
    environment_restored,
    finished_run,
    stop,
    throwaway_database,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def production(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The production profile's environment on two throwaway databases."""
    with (
        throwaway_database("govern_dagster") as dagster_db,
        throwaway_database("govern_mlflow") as mlflow_db,
    ):
        env = {
            "GOVERN_PROFILE": "production",
            settings.DAGSTER_PG_URL: dagster_db,
            settings.MLFLOW_PG_URL: mlflow_db,
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield env


def _govern_json(*args: str, env: dict[str, str]) -> list[dict]:
    done = subprocess.run(
        [*GOVERN, *args, "--json"],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    return json.loads(done.stdout)


def _comparable(summary: dict) -> dict:
    """A run summary without what differs between any two runs: their ids, and the wording of
    a gate's evidence (a landing file's age, say); each gate's verdict stays."""
    facts_without_ids = [
        {**a, "facts": {k: v for k, v in a["facts"].items() if k != "mlflow_run_id"}}
        for a in summary["assets"]
    ]
    model = {k: v for k, v in summary["model"].items() if k != "mlflow_run_id"}
    gates = sorted((g["asset"], g["check"], g["passed"], g["blocking"]) for g in summary["gates"])
    return {**summary, "run_id": None, "assets": facts_without_ids, "model": model, "gates": gates}


def _rows(url: str, sql: str) -> list[tuple]:
    conn = psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"))
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()
    finally:
        conn.close()


def test_govern_run_in_the_production_profile_uses_postgres_and_prints_the_embedded_summary(
    project: Path, production: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture
):
    # given the same project run once by `govern run` in the embedded default (its own
    # run-time folder; in this process: the production run below is a process of its own)
    with environment_restored():
        os.environ.update(GOVERN_PROFILE="embedded", GOVERN_HOME=str(tmp_path / "embedded"))
        code = main(["run", "--dataset", "churn", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err[-3000:] + out[-3000:]
    [embedded] = json.loads(out)
    # when `govern run` runs it with GOVERN_PROFILE=production
    [summary] = _govern_json("run", "--dataset", "churn", env=production)
    # then it prints the same summary as the embedded run
    assert summary["success"], summary["failures"]
    assert _comparable(summary) == _comparable(embedded)
    # and the Dagster run, its materializations and checks are in PostgreSQL
    dagster_db = production[settings.DAGSTER_PG_URL]
    runs = _rows(dagster_db, "SELECT run_id, status FROM runs")
    assert runs == [(summary["run_id"], "SUCCESS")], runs
    with local_instance() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        event = instance.get_latest_materialization_event(dg.AssetKey("churn_model"))
        assert event is not None and event.run_id == summary["run_id"]
    # and the MLflow run and registered model are in MLflow's own PostgreSQL database
    mlflow_db = production[settings.MLFLOW_PG_URL]
    versions = _rows(mlflow_db, "SELECT name, version, run_id FROM model_versions")
    assert versions == [("churn_model", 1, summary["model"]["mlflow_run_id"])], versions
    # and the tables are Delta tables under the storage root, the model's files beside them
    tables = Path(settings.tables_root())
    assert (tables / "published" / "features" / "customer_features" / "_delta_log").is_dir()
    assert any((tables / "mlartifacts").rglob("MLmodel")), "model artifacts under the root"


def test_without_its_database_url_the_production_profile_says_what_to_set(
    project: Path, monkeypatch: pytest.MonkeyPatch
):
    # given the production profile with no database URL
    monkeypatch.setenv("GOVERN_PROFILE", "production")
    monkeypatch.delenv(settings.DAGSTER_PG_URL, raising=False)
    monkeypatch.delenv(settings.MLFLOW_PG_URL, raising=False)
    # when `govern run` starts
    done = subprocess.run(
        [*GOVERN, "run", "--dataset", "churn"], cwd=REPO, capture_output=True, text=True
    )
    # then it stops at once, naming the variable to set, and runs nothing
    assert done.returncode != 0
    assert "needs $GOVERN_MLFLOW_PG_URL" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_run_submitted_to_the_queue_is_dequeued_and_executed_by_the_daemon(
    project: Path, production: dict[str, str]
):
    # given the production instance, whose coordinator queues every submitted run
    with local_instance() as instance:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        # when a run of the churn job's ingest step is launched as from the UI (in one process,
        # as every job runs by default) and `govern daemon` runs
        launched = subprocess.run(
            [sys.executable, "-m", "dagster", "job", "launch", "-w", str(REPO / "workspace.yaml")]
            + ["-j", "churn_job", "-o", "raw_customers"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert launched.returncode == 0, launched.stderr[-3000:]
        [queued] = instance.get_runs()
        assert queued.status == dg.DagsterRunStatus.QUEUED, "nothing dequeues it but the daemon"
        daemon = subprocess.Popen(
            [*GOVERN, "daemon"], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            run = finished_run(instance, queued.run_id, timeout=600)
        finally:
            stop(daemon, timeout=60)
        # then the daemon dequeued it and it ran to success in its own process
        assert run.status == dg.DagsterRunStatus.SUCCESS, run.status
        kinds = [e.dagster_event_type for e in instance.all_logs(run.run_id) if e.is_dagster_event]
        enqueued = kinds.index(dg.DagsterEventType.RUN_ENQUEUED)
        assert kinds.index(dg.DagsterEventType.RUN_STARTING) > enqueued, "launched from the queue"
        event = instance.get_latest_materialization_event(dg.AssetKey("raw_customers"))
        assert event is not None and event.run_id == run.run_id
