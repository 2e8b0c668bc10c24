"""The Dagster instance of the chosen profile: DAGSTER_HOME with the profile's dagster.yaml.

``GOVERN_PROFILE`` picks ``deploy/<profile>/dagster.yaml`` (embedded: SQLite, telemetry off;
production: PostgreSQL storage, the queued run coordinator and concurrency limits for the
daemon, run monitoring). It is copied into DAGSTER_HOME when that folder has none; an existing
``dagster.yaml`` is left alone, so an operator's own configuration always wins. No concurrency
pool: each asset writes its own Delta tables, so steps and runs need no lock between them.
"""

import fcntl
import os
import shutil
from pathlib import Path

import dagster as dg

from pipeline import settings


def ensure_dagster_home() -> Path:
    """Create DAGSTER_HOME with the profile's dagster.yaml if it has none; export DAGSTER_HOME.

    The production profile's settings are checked first, so a missing database URL is one
    clear sentence rather than a Dagster configuration error.
    """
    settings.mlflow_tracking_uri()
    home = settings.dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(settings.profile_dir() / "dagster.yaml", config)
    if f"env: {settings.DAGSTER_PG_URL}" in config.read_text(encoding="utf-8"):
        settings.required(settings.DAGSTER_PG_URL)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def local_instance() -> dg.DagsterInstance:
    """The instance of DAGSTER_HOME, its storage created by one process at a time.

    Opening an instance on a fresh DAGSTER_HOME creates its SQLite databases and stamps their
    schema version; two ``govern run`` started at once on a new home raced there (one failed
    with "UNIQUE constraint failed: alembic_version"). An exclusive lock on a file in the home
    makes the second process wait until the first has created them, then find them made.
    """
    home = ensure_dagster_home()
    with open(home / ".instance.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return dg.DagsterInstance.get()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
