"""Helpers for the tests: the checkout's root, and running a dataset in-process and reading back
what it produced."""

import os
import socket
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


def require_service(name: str, host: str, port: int, how_to_start: str) -> None:
    """Skip the test when ``name`` does not answer on ``host:port``, saying how to start it;
    with GOVERN_REQUIRE_SERVICES=1 (CI) fail instead, so such a test never silently stops
    running."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError as exc:
        reason = f"{name} is not running on {host}:{port} ({exc}); start it: {how_to_start}"
    if os.environ.get("GOVERN_REQUIRE_SERVICES") == "1":
        pytest.fail(f"GOVERN_REQUIRE_SERVICES=1: {reason}")
    pytest.skip(reason)
