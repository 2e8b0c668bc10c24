"""Helpers for the tests: the checkout's root, running a dataset in-process or `govern` in a
process of its own, stopping such processes, and reading back what a run produced."""

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
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
# `govern` in a process of its own, on this interpreter (the venv's, whatever PATH says).
GOVERN = [sys.executable, "-c", "from pipeline.cli.app import main; raise SystemExit(main())"]
# What a writer that lost a race or waited on a lock would print.
LOCK_ERRORS = re.compile(r"\block(ed)?\b|CommitFailed|ConcurrentTransaction|conflict", re.I)
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


@contextmanager
def environment_restored() -> Iterator[None]:
    """Around `govern` run in this process (``main``): its environment put back as it was.
    `govern run` exports the stores it opened (DAGSTER_HOME, MLflow's URIs), and a monkeypatch
    ``delenv`` of a variable that was unset records nothing to undo."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def start_govern(*args: str, command: list[str] | None = None) -> subprocess.Popen:
    """``govern *args`` started in the checkout on this test's environment, its output and
    errors captured apart (``communicate`` reads them)."""
    return subprocess.Popen(
        [*(command or GOVERN), *args],
        cwd=REPO,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(process: subprocess.Popen, timeout: float = 60, group: bool = False) -> bool:
    """SIGTERM ``process`` (with ``group``, its whole process group: a Celery worker and its
    pool), wait up to ``timeout`` s, then SIGKILL it; whether SIGTERM alone stopped it (False
    also if it had already ended)."""
    if process.poll() is not None:
        return False
    send = (lambda sig: os.killpg(process.pid, sig)) if group else process.send_signal
    send(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        process.wait()
        return False


def run_at_once(
    script: str, folder: Path, *args: str, count: int = 4
) -> list[subprocess.CompletedProcess]:
    """``count`` processes running ``script`` (``python -c``) in the checkout, released at the
    same instant once each has done its imports: the script touches ``sys.argv[2]`` when ready,
    then waits for ``sys.argv[1]`` to exist; ``args`` follow. Their results, in order."""
    go = folder / "go"
    ready = [folder / f"ready-{n}" for n in range(count)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(go), str(flag), *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for flag in ready
    ]
    deadline = time.monotonic() + 300
    while not all(flag.exists() for flag in ready):
        assert time.monotonic() < deadline, "the processes did not get ready"
        assert all(p.poll() is None for p in processes), "a process ended before the start"
        time.sleep(0.05)
    go.touch()
    outputs = [p.communicate(timeout=300) for p in processes]
    return [
        subprocess.CompletedProcess(p.args, p.returncode, out, err)
        for p, (out, err) in zip(processes, outputs, strict=True)
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(port: int, query: str, variables: dict | None = None) -> dict:
    """The ``data`` of a GraphQL request to the Dagster webserver on ``port``."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.load(response)
    assert not body.get("errors"), body["errors"]
    return body["data"]


def wait_until_served(port: int, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"govern ui exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"the UI did not answer on port {port} within {timeout} s")


def _child_groups(pid: int) -> list[int]:
    """The process groups of ``pid``'s children (Linux: read from /proc)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    pids = children.read_text().split() if children.exists() else []
    groups = []
    for child in pids:
        with contextlib.suppress(ProcessLookupError):
            groups.append(os.getpgid(int(child)))
    return groups


@contextmanager
def govern_ui(log: Path, timeout: float = 300) -> Iterator[int]:
    """`govern ui` (webserver and daemon) on the test's project, on a free port: the port.
    Its output goes to ``log``. SIGTERM stops it afterwards; if it takes too long (a loaded
    machine), its process group and that of its `dagster dev` are killed: a `dagster dev`
    orphaned by killing `govern ui` alone kept its webserver, daemon and code server running,
    and burning CPU, for good.
    ``timeout``: how long it may take to serve (each of its processes imports the pipeline).

    It starts with SIGINT ignored, as ``govern ui &`` from a script starts it: SIGTERM must stop
    it all the same (it used to leave ``dagster dev`` running until killed), else teardown fails.
    """
    port = free_port()
    with log.open("w") as out:
        server = subprocess.Popen(
            [*GOVERN, "ui", "--port", str(port)],
            cwd=REPO,
            env=os.environ.copy(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )
        groups = [server.pid]
        try:
            wait_until_served(port, server, timeout=timeout)
            # `govern ui` runs `dagster dev` in a process group of its own
            groups += _child_groups(server.pid)
            yield port
        finally:
            stopped = stop(server, timeout=90)
            for group in groups:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(group, signal.SIGKILL)
        assert stopped, f"govern ui did not stop within 90 s of SIGTERM (see {log})"


def step_started(instance: dg.DagsterInstance, step: str, timeout: float) -> dg.DagsterRun:
    """The started run once ``step`` has begun in it (read from the runs' event logs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
            starts = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)
            if any(event.step_key == step for event in starts):
                return run
        time.sleep(0.2)
    raise AssertionError(f"no run reached step {step} within {timeout} s")


def finished_run(instance: dg.DagsterInstance, run_id: str, timeout: float) -> dg.DagsterRun:
    """Run ``run_id`` once it has finished (succeeded, failed or canceled)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = instance.get_run_by_id(run_id)
        if run is not None and run.is_finished:
            return run
        time.sleep(2)
    raise AssertionError(f"run {run_id} did not finish within {timeout} s")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lineage(model_ref: str) -> dict:
    """`govern lineage MODEL@VERSION --json`, in this process (its environment restored)."""
    from pipeline.cli.app import main

    out = io.StringIO()
    with environment_restored(), contextlib.redirect_stdout(out):
        code = main(["lineage", model_ref, "--json"])
    assert code == 0, f"govern lineage {model_ref}: exit {code}"
    return json.loads(out.getvalue())


def assert_built_from_own_inputs(name: str, run_id: str, facts: dict, own_file: Path) -> None:
    """A churn run's tables, model and lineage come from its own customers file: no row lost
    at any step, every asset its model's lineage names built in ``run_id``, and the feature
    table version it names holding exactly that run's rows. ``facts``: each asset's
    materialization metadata (plain values) in that run."""
    raw, redacted = facts["raw_customers"], facts["redacted_customers"]
    features = facts["customer_features"]
    assert raw["source_sha256"] == sha256(own_file), f"{name} read its own file"
    assert raw["rows_in"] == raw["rows_loaded"] + raw["rows_rejected"], name
    assert redacted["rows_in"] == raw["rows_loaded"], f"{name}: redacted its own raw table"
    assert redacted["rows_in"] == redacted["rows_published"] + redacted["rows_quarantined"]
    assert features["dagster/row_count"] == redacted["rows_published"], (
        f"{name}: one feature row per customer of its own redacted table"
    )
    model = lineage(f"churn_model@{facts['churn_model']['registered_version']}")
    assert model["sources"]["customers"]["sha256"] == sha256(own_file), name
    for asset, recorded in model["assets"].items():
        assert recorded["dagster_run_id"] == run_id, f"{name}: {asset} of another run"
    recorded = model["assets"]["customer_features"]
    assert recorded["row_count"] == features["dagster/row_count"], name
    snapshot = store().snapshot("features", "customer_features", recorded["table_version"])
    assert snapshot.dataset.count_rows() == features["dagster/row_count"], name


def materialized_facts(instance: dg.DagsterInstance, run_id: str) -> dict[str, dict]:
    """Each asset's materialization metadata in run ``run_id``, as plain values."""
    facts = {}
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        materialization = record.asset_materialization
        facts[materialization.asset_key.to_user_string()] = {
            key: getattr(value, "value", value) for key, value in materialization.metadata.items()
        }
    return facts


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


def fewer_customers(project: Path, out: Path, dropped: int = 150) -> Path:
    """The project's customers file without its last ``dropped`` customers."""
    declared = project / "data" / "raw" / "customers.csv"
    out.write_text("".join(declared.read_text().splitlines(keepends=True)[:-dropped]))
    return out


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
