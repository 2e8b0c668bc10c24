"""The local Dagster instance: DAGSTER_HOME under the run-time folder, with safe defaults.

If ``$DAGSTER_HOME/dagster.yaml`` exists it is left alone (that is how production points
Dagster at PostgreSQL); otherwise one is written with telemetry off. No concurrency pool: each
asset writes its own Delta tables, so steps and runs need no lock between them.
"""

import os
from pathlib import Path

import dagster as dg

from pipeline import settings

DEFAULT_INSTANCE_YAML = """\
# Written by govern for local use; replace it (e.g. with PostgreSQL storage) for production.
telemetry:
  enabled: false
# The code location imports Presidio, spaCy, GX and MLflow: on a busy machine that takes
# longer than the 180 s Dagster waits for a code server by default.
code_servers:
  local_startup_timeout: 600
"""


def ensure_dagster_home() -> Path:
    """Create DAGSTER_HOME and its dagster.yaml if missing; export DAGSTER_HOME."""
    home = settings.dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DEFAULT_INSTANCE_YAML, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def local_instance() -> dg.DagsterInstance:
    ensure_dagster_home()
    return dg.DagsterInstance.get()
