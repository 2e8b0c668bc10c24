"""Scale-out without code changes: the same job on Dagster's PostgreSQL storage.

Production points DAGSTER_HOME at a dagster.yaml with PostgreSQL storage; the code is the
same. This runs the churn job against a throwaway database on the local PostgreSQL server
(``GOVERN_TEST_PG``, default ``postgresql://postgres@127.0.0.1:5432/test``).
"""

import os
import uuid

import dagster as dg
import psycopg2
import pytest

from pipeline.runs.instance import ensure_dagster_home
from tests.helpers import run_churn

pytestmark = pytest.mark.e2e
ADMIN_URL = os.environ.get("GOVERN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def postgres_url():
    """A fresh database for this test, dropped afterwards."""
    name = f"govern_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(ADMIN_URL)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://")
    try:
        yield f"{base}/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_the_churn_job_runs_on_postgres_storage_unchanged(project, postgres_url, monkeypatch):
    # given a DAGSTER_HOME whose dagster.yaml puts runs, events and schedules in PostgreSQL
    home = project.parent / "dagster-postgres"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "storage:\n  postgres:\n    postgres_url:\n      env: GOVERN_TEST_DAGSTER_PG\n"
        "telemetry:\n  enabled: false\n"
    )
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("GOVERN_TEST_DAGSTER_PG", postgres_url)
    ensure_dagster_home()
    assert "postgres" in (home / "dagster.yaml").read_text(), "an existing config is kept"
    # when the job runs through the same code
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        summary = run_churn(project, instance)
        # then it succeeds, and its run, materializations and checks are in PostgreSQL
        assert summary.success, summary.failures
        assert instance.get_run_by_id(summary.run_id) is not None
        event = instance.get_latest_materialization_event(dg.AssetKey("churn_model"))
        assert event is not None and event.run_id == summary.run_id
