"""Helpers for the tests: the checkout's root, and running a dataset in-process and reading back
what it produced."""

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipeline.declarations.dataset import load_datasets
from pipeline.definitions import build_definitions
from pipeline.runs.runner import RunSummary, run_dataset
from pipeline.storage.tables import TableStore

REPO = Path(__file__).resolve().parent.parent
# Set by CI (.ci/run): a production-profile test whose service is absent fails instead of skipping.
REQUIRE_SERVICES = "GOVERN_REQUIRE_SERVICES"
# The local PostgreSQL server's admin connection (trust auth), for throwaway databases.
POSTGRES_ADMIN_URL = os.environ.get("GOVERN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
POSTGRES_HOW_TO_START = (
    "start PostgreSQL on 127.0.0.1:5432 (e.g. `sudo service postgresql start`, or "
    "`docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16`) or point "
    "GOVERN_TEST_PG at one"
)


TEST_KEY = "test-hmac-key-not-secret"


def lay_out_project(root: Path, sample: Path) -> Path:
    """The template's declarations and the small sample as raw data, under ``root``."""
    for folder in ("datasets", "policies", "expectations"):
        shutil.copytree(REPO / folder, root / folder)
    shutil.copy(REPO / "requirements.lock", root / "requirements.lock")
    (root / "data" / "raw").mkdir(parents=True)
    for csv in sample.glob("*.csv"):
        shutil.copy(csv, root / "data" / "raw" / csv.name)
    shutil.copytree(REPO / "data" / "raw" / "readmission", root / "data" / "raw" / "readmission")
    return root


def point_at(env: pytest.MonkeyPatch, root: Path, home: Path, tables: Path | None = None) -> None:
    """This process's settings on ``root`` and ``home`` (and ``tables``, else under home), with
    the test key, and nothing of the caller's environment that would redirect a store."""
    env.setenv("GOVERN_PROJECT_ROOT", str(root))
    env.setenv("GOVERN_HOME", str(home))
    env.setenv("GOVERN_HMAC_KEY", TEST_KEY)
    for name in (
        "GOVERN_TABLES",
        "DAGSTER_HOME",
        "MLFLOW_TRACKING_URI",
        "GOVERN_MLFLOW_ARTIFACTS",
        "GOVERN_SPACY_MODEL",
    ):
        env.delenv(name, raising=False)
    if tables is not None:
        env.setenv("GOVERN_TABLES", str(tables))


def require_service(name: str, host: str, port: int, how_to_start: str) -> None:
    """Skip the calling test when ``name`` does not answer on ``host:port``, saying how to start
    it; with ``$GOVERN_REQUIRE_SERVICES=1`` (CI) fail instead, so CI always runs such tests."""
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        reason = f"{name} does not answer on {host}:{port} ({exc}): {how_to_start}"
        if os.environ.get(REQUIRE_SERVICES) == "1":
            pytest.fail(f"{reason}. {REQUIRE_SERVICES}=1 requires it.", pytrace=False)
        pytest.skip(reason)


def require_postgres() -> str:
    """The admin URL of the local PostgreSQL server, once it answers (else skip or fail)."""
    from urllib.parse import urlsplit

    parts = urlsplit(POSTGRES_ADMIN_URL)
    require_service(
        "PostgreSQL", parts.hostname or "127.0.0.1", parts.port or 5432, POSTGRES_HOW_TO_START
    )
    return POSTGRES_ADMIN_URL


@contextmanager
def throwaway_database(prefix: str = "govern") -> Iterator[str]:
    """A fresh PostgreSQL database with a unique name, dropped afterwards: its SQLAlchemy URL."""
    import psycopg2

    admin_url = require_postgres()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://")
    try:
        yield f"{base}/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def run_churn(
    root: Path, instance: dg.DagsterInstance, sources: dict[str, Path] | None = None
) -> RunSummary:
    dataset = next(d for d in load_datasets(root) if d.name == "churn")
    return run_dataset(build_definitions(root), dataset, instance, sources)


def gate(summary: RunSummary, asset: str, check: str):
    matches = [g for g in summary.gates if g.asset == asset and g.check == check]
    assert matches, (
        f"no result for check {check!r} on {asset!r}; got "
        f"{[(g.asset, g.check) for g in summary.gates]}"
    )
    return matches[-1]


def status(summary: RunSummary, asset: str) -> str:
    return next(a.status for a in summary.assets if a.asset == asset)


def store() -> TableStore:
    """The Delta tables of this test's GOVERN_HOME (or GOVERN_TABLES)."""
    from pipeline import settings

    return TableStore(settings.tables_root())


@contextmanager
def tables() -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection where every published Delta table is ``<schema>.<table>``."""
    with store().connect() as conn:
        yield conn


def table_rows(table: str) -> int | None:
    """Rows of a published table, or None if it was never published."""
    schema, name = table.split(".")
    if not store().exists(schema, name):
        return None
    with store().connect([table]) as conn:
        return conn.execute(f'SELECT count(*) FROM "{schema}"."{name}"').fetchone()[0]


def with_negative_amount(root: Path, out: Path, line: int | None = None) -> Path:
    """A copy of the sample's transactions with a negative amount, which the contract bans: on
    one line, or (``line=None``) on every line, far past the clause's row budget."""
    lines = (root / "data/raw/transactions.csv").read_text().splitlines()
    for number in [line] if line is not None else range(1, len(lines)):
        fields = lines[number].split(",")
        if len(fields) > 3:
            fields[3] = "-42.00"
            lines[number] = ",".join(fields)
    out.write_text("\n".join(lines) + "\n")
    return out


def mlflow_client():
    """A client on this test's MLflow store for tracking and registry alike.

    MLflow keeps the registry URI in process-wide state; a client given only a tracking URI
    would read whichever registry an earlier test set.
    """
    from mlflow.tracking import MlflowClient

    from pipeline import settings

    uri = settings.mlflow_tracking_uri()
    return MlflowClient(uri, registry_uri=uri)


def with_scaled_amounts(root: Path, out: Path, factor: float) -> Path:
    """A copy of the sample's transactions with every parsable amount multiplied by ``factor``:
    the same orders booked in another currency, a shift of one feature's distribution."""
    lines = (root / "data/raw/transactions.csv").read_text().splitlines()
    for number in range(1, len(lines)):
        fields = lines[number].split(",")
        try:
            fields[3] = f"{float(fields[3]) * factor:.2f}"
        except (IndexError, ValueError):
            continue  # a malformed line stays malformed: ingest quarantines it as before
        lines[number] = ",".join(fields)
    out.write_text("\n".join(lines) + "\n")
    return out


def split_into_daily_batches(root: Path, days: int = 4) -> list[str]:
    """Make the project's transactions a partitioned source: its rows split into ``days``
    files, one a day, in ``data/raw/transactions/``, and ``datasets/churn.yaml`` pointing at
    that folder with ``partitioned: by_file``. Returns the partition keys (the file names)."""
    lines = (root / "data/raw/transactions.csv").read_text().splitlines()
    header, rows = lines[0], lines[1:]
    folder = root / "data/raw/transactions"
    folder.mkdir()
    keys = []
    for day in range(days):
        key = f"2026-06-{27 + day:02d}.csv"
        chunk = rows[day * len(rows) // days : (day + 1) * len(rows) // days]
        (folder / key).write_text("\n".join([header, *chunk]) + "\n")
        keys.append(key)
    (root / "data/raw/transactions.csv").unlink()
    declaration = root / "datasets/churn.yaml"
    text = declaration.read_text()
    old = "    path: data/raw/transactions.csv\n"
    assert old in text, "the churn declaration no longer names data/raw/transactions.csv"
    declaration.write_text(
        text.replace(old, "    path: data/raw/transactions\n    partitioned: by_file\n")
        # A day holds a quarter of the rows: the SLA's row minimum is per batch.
        .replace(
            "      min_rows: 100\n      max_null_fraction: {transaction_id",
            "      min_rows: 10\n      max_null_fraction: {transaction_id",
        )
    )
    return keys
