"""Delta tables under one root: one commit per publish, versions to travel back to, two zones.

Real delta-rs and DuckDB on a temporary folder: no mock between the code and the files.
"""

import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable
from pyarrow import fs

from pipeline import settings
from pipeline.storage import tables
from pipeline.storage.tables import (
    TableStore,
    TableStoreError,
    VersionGone,
    erase_rows,
    recorded_snapshot,
)


@pytest.fixture
def store(tmp_path: Path) -> TableStore:
    return TableStore(str(tmp_path / "tables"))


@contextmanager
def umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def rows(store: TableStore, name: str, version: int | None = None) -> list[tuple]:
    versions = {name: version} if version is not None else None
    with store.connect([name], versions) as conn:
        return conn.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_each_publish_is_one_commit_and_time_travel_reads_each_version(store):
    # given a table published twice, each time by a run that says who it is
    first = store.publish("redacted", "customers", pd.DataFrame({"id": ["a", "b"]}), {"run": "1"})
    second = store.publish("redacted", "customers", pa.table({"id": ["c"]}), {"run": "2"})
    # then each publish made one version, and said which
    assert (first.version, second.version) == (0, 1), (first, second)
    assert first.uri == second.uri == store.uri("redacted", "customers")
    history = DeltaTable(first.uri).history()
    assert [(h["version"], h["run"]) for h in history] == [(1, "2"), (0, "1")], history
    # and readers see the latest by default, and each version when they ask for it
    assert rows(store, "redacted.customers") == [("c",)]
    assert rows(store, "redacted.customers", first.version) == [("a",), ("b",)]
    assert store.snapshot("redacted", "customers", 0).version == 0


def test_a_new_schema_replaces_the_old_one_and_all_null_columns_are_text(store):
    # given a table published with one schema, then with a column dropped and one all NULL
    store.publish("features", "f", pd.DataFrame({"a": [1], "b": ["x"]}))
    store.publish("features", "f", pd.DataFrame({"a": [2], "n": [None]}))
    # when it is described
    with store.connect(["features.f"]) as conn:
        described = conn.execute("DESCRIBE features.f").fetchall()
    # then it has the new columns only, the NULL one typed as text
    assert [(r[0], r[1]) for r in described] == [("a", "BIGINT"), ("n", "VARCHAR")], described


def test_a_frame_is_streamed_in_batches_and_published_whole(store, monkeypatch):
    # given batches of two rows, and a frame of five with a NULL-only column
    monkeypatch.setattr(tables, "_FRAME_BATCH_ROWS", 2)
    frame = pd.DataFrame({"id": [f"t{i}" for i in range(5)], "n": [None] * 5, "x": range(5)})
    # when it is published
    store.publish("redacted", "t", frame)
    # then every row is in the table, in one commit, the NULL column typed as text
    assert rows(store, "redacted.t") == [(f"t{i}", None, i) for i in range(5)]
    assert DeltaTable(store.uri("redacted", "t")).version() == 0
    with store.connect(["redacted.t"]) as conn:
        types = [r[1] for r in conn.execute("DESCRIBE redacted.t").fetchall()]
    assert types == ["VARCHAR", "VARCHAR", "BIGINT"], types


def test_the_restricted_zone_is_private_whatever_the_umask(store, tmp_path):
    # given a umask that would leave everything readable and writable by everyone
    with umask(0o000):
        # when a raw table, its quarantine and a redacted table are published
        store.publish("raw", "customers", pd.DataFrame({"full_name": ["Ann Raw"]}))
        store.publish("quarantine", "customers", pd.DataFrame({"raw": ["Ann Raw,x"]}))
        store.publish("redacted", "customers", pd.DataFrame({"id": ["tok"]}))
    root = tmp_path / "tables"
    restricted = root / "restricted"
    # then the restricted zone and every folder in it is 0700, every file 0600
    assert mode(restricted) == 0o700, oct(mode(restricted))
    entries = list(restricted.rglob("*"))
    assert any(p.suffix == ".parquet" for p in entries) and any(
        p.suffix == ".json" for p in entries
    )
    for path in entries:
        expected = 0o700 if path.is_dir() else 0o600
        assert mode(path) == expected, f"{path}: {oct(mode(path))}"
    # and the raw and quarantine tables are there, the redacted one in the published zone
    assert store.uri("raw", "customers") == str(restricted / "raw" / "customers")
    assert store.uri("quarantine", "customers") == str(restricted / "quarantine" / "customers")
    assert store.uri("redacted", "customers") == str(root / "published/redacted/customers")


def test_a_restricted_zone_left_open_is_closed_again(store, tmp_path):
    # given a restricted zone someone opened to everyone
    restricted = tmp_path / "tables" / "restricted"
    restricted.mkdir(parents=True)
    restricted.chmod(0o777)
    # when a raw table is published
    store.publish("raw", "customers", pd.DataFrame({"full_name": ["Ann Raw"]}))
    # then the zone is private again
    assert mode(restricted) == 0o700, oct(mode(restricted))


def test_a_commit_file_renamed_by_another_writer_meanwhile_does_not_fail_the_publish(
    store, monkeypatch
):
    # given a raw table, and a folder listing that still names the temporary commit file
    # another writer of the table renamed between the listing and the chmod (as delta-rs does)
    store.publish("raw", "events", pa.table({"writer": [0]}))
    real_walk = os.walk

    def listing_with_a_renamed_file(top):
        for folder, dirs, files in real_walk(top):
            gone = ["_commit_0b1c.json.tmp"] if folder.endswith("_delta_log") else []
            yield folder, dirs, [*files, *gone]

    monkeypatch.setattr(tables.os, "walk", listing_with_a_renamed_file)
    # when the table is published again
    published = store.publish("raw", "events", pa.table({"writer": [1]}))
    # then the commit stands and its files are private all the same
    assert published.version == 1
    monkeypatch.undo()
    log = Path(store.uri("raw", "events")) / "_delta_log"
    assert all(mode(p) == 0o600 for p in log.glob("*.json")), sorted(log.iterdir())


@pytest.mark.parametrize("race", range(5))
def test_concurrent_publishers_of_one_table_all_commit_and_the_table_stays_whole(store, race):
    # given four writers replacing the same table at once, each with its own rows (raced a few
    # times: delta-rs's own commit retry mixed two writers' rows in about one race in three)
    errors: list[BaseException] = []

    def publish(n: int) -> None:
        rows = pa.table({"writer": [n] * 1000})
        # Half of them stream their rows, as ingest does: a retry opens a fresh stream.
        data = (
            rows
            if n % 2
            else (
                lambda: pa.RecordBatchReader.from_batches(
                    rows.schema, rows.to_batches(max_chunksize=100)
                )
            )
        )
        try:
            store.publish("raw", "events", data)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=publish, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then every writer committed (a lost race is retried), one version each
    assert not errors, errors
    assert store.version("raw", "events") == 3
    # and every version holds exactly one writer's rows, never a mix
    for version in range(4):
        writers = {r[0] for r in rows(store, "raw.events", version)}
        assert len(writers) == 1 and len(rows(store, "raw.events", version)) == 1000, version


def test_connect_exposes_every_published_table_under_its_name(store):
    # given tables in each schema
    for name in ("raw.c", "quarantine.c", "redacted.c", "features.f"):
        store.publish(*name.split("."), pa.table({"x": [1]}))
    # when a reader connects without naming any
    with store.connect() as conn:
        views = conn.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_catalog <> 'temp' ORDER BY ALL"
        ).fetchall()
    # then each is a view under its usual name
    assert [v[0] for v in views] == ["features.f", "quarantine.c", "raw.c", "redacted.c"], views
    assert store.published() == ["raw.c", "quarantine.c", "redacted.c", "features.f"]


def test_a_file_uri_root_is_the_same_store(store, tmp_path):
    # given a table published under a plain folder
    store.publish("redacted", "c", pa.table({"x": [7]}))
    # when the same root is named as a file:// URI
    uri_store = TableStore((tmp_path / "tables").as_uri())
    # then it finds and reads the same table
    assert uri_store.published() == ["redacted.c"]
    assert rows(uri_store, "redacted.c") == [(7,)]


def test_a_local_table_is_read_by_arrows_own_file_system_at_each_version(tmp_path):
    # given a table with two versions under a local root whose name needs quoting in a URI
    store = TableStore(str(tmp_path / "my tables"))
    store.publish("raw", "c", pa.table({"x": [1, 2]}))
    store.publish("raw", "c", pa.table({"x": [3]}))
    uri = store.uri("raw", "c")
    # when it is read as the latest snapshot, an older one, a recorded version, and through the
    # same root named as a file:// URI
    datasets = {
        "latest": store.snapshot("raw", "c").dataset,
        "version 0": store.snapshot("raw", "c", version=0).dataset,
        "recorded": recorded_snapshot(uri, 0).dataset,
        "file uri": TableStore((tmp_path / "my tables").as_uri()).snapshot("raw", "c").dataset,
    }
    # then each reads through Arrow's local file system, never deltalake's default, which reads
    # through Python: a read-ahead landing while the process exits aborted `govern erase`
    for name, dataset in datasets.items():
        assert isinstance(dataset.filesystem, fs.SubTreeFileSystem), (name, dataset.filesystem)
        assert isinstance(dataset.filesystem.base_fs, fs.LocalFileSystem), name
    # and each holds the rows of its own version
    read = {name: sorted(d.to_table()["x"].to_pylist()) for name, d in datasets.items()}
    assert read == {"latest": [3], "version 0": [1, 2], "recorded": [1, 2], "file uri": [3]}
    # and the file:// root lists the same tables
    assert TableStore((tmp_path / "my tables").as_uri()).published() == ["raw.c"]


def test_reading_a_missing_table_or_version_says_which_and_what_to_do(store):
    # given one version of one table
    store.publish("redacted", "c", pa.table({"x": [1]}))
    # when a table never published, and a version never made, are read
    with pytest.raises(TableStoreError) as missing:
        store.snapshot("features", "nope")
    with pytest.raises(TableStoreError) as no_version:
        store.snapshot("redacted", "c", version=5)
    # then the errors name the table, its location and what to do
    assert "features.nope" in str(missing.value) and "govern run" in str(missing.value)
    assert store.uri("features", "nope") in str(missing.value)
    assert "redacted.c" in str(no_version.value) and "version 5" in str(no_version.value)
    with pytest.raises(TableStoreError) as unknown:
        store.connect(["staging.x"]).__enter__()
    assert "staging.x" in str(unknown.value), unknown.value


def test_a_recorded_version_reads_back_until_a_vacuum_or_a_purge_takes_it(store):
    # given a table with three versions, the first one recorded by a model
    for n in (3, 4, 5):
        store.publish("features", "t", pd.DataFrame({"x": range(n)}))
    uri = store.uri("features", "t")
    # when the recorded version is read back, then it holds its own rows
    assert recorded_snapshot(uri, 0).dataset.count_rows() == 3
    # when the table is vacuumed with no retention (its log keeps the old versions)
    DeltaTable(uri).vacuum(retention_hours=0, dry_run=False, enforce_retention_duration=False)
    # then reading version 0 says it is gone, which table and version, and why
    with pytest.raises(VersionGone, match=r"features\.t version 0 .*data files were removed"):
        recorded_snapshot(uri, 0)
    # when an erasure purges the log before its deletion too, then that is named as well
    erase_rows(store, "features.t", "x = 0", {"govern_erasure": "E-1"})
    with pytest.raises(VersionGone, match=r"version 1 .*log entry was removed") as gone:
        recorded_snapshot(uri, 1)
    latest = DeltaTable(uri).version()
    assert (gone.value.name, gone.value.version, gone.value.latest) == ("features.t", 1, latest)
    # and a version past the latest (a table replaced since) is gone, not a crash
    with pytest.raises(VersionGone, match=rf"latest version is {latest}: the table was replaced"):
        recorded_snapshot(uri, latest + 1)


def test_the_root_is_govern_tables_or_under_govern_home(tmp_path, monkeypatch):
    # given GOVERN_HOME and no GOVERN_TABLES
    monkeypatch.setenv("GOVERN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GOVERN_TABLES", raising=False)
    assert settings.tables_root() == str(tmp_path / "home" / "tables")
    # when GOVERN_TABLES names a relative folder, or an object-store URI
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GOVERN_TABLES", "shared/tables")
    assert settings.tables_root() == str(tmp_path / "shared" / "tables")
    monkeypatch.setenv("GOVERN_TABLES", "s3://bucket/govern")
    assert settings.tables_root() == "s3://bucket/govern"
    assert (
        TableStore("s3://bucket/govern/").uri("raw", "c") == "s3://bucket/govern/restricted/raw/c"
    )


def test_duckdb_spills_to_a_private_folder_removed_afterwards(store):
    # given a connection from the store
    with store.connect([]) as conn:
        scratch = Path(conn.execute("SELECT current_setting('temp_directory')").fetchone()[0])
        # then DuckDB would spill to a folder only this user can read
        assert scratch.is_dir() and mode(scratch) == 0o700, (scratch, oct(mode(scratch)))
        assert isinstance(conn, duckdb.DuckDBPyConnection)
    # and the folder is gone once the connection is closed
    assert not scratch.exists(), scratch


def test_a_dead_runs_unrecorded_commits_are_rolled_back_and_nothing_else(store):
    # given a table a run published (recorded), then a dead run's two commits it never recorded
    store.publish("redacted", "customers", pa.table({"id": ["a"]}), {"dagster_run_id": "r1"})
    for ids in (["b"], ["b", "c"]):
        store.publish("redacted", "customers", pa.table({"id": ids}), {"dagster_run_id": "dead"})
    # when the dead run's unrecorded commits are rolled back
    restored = store.roll_back("redacted.customers", "dead", recorded=set())
    # then one new commit restores the version before them, and says whose commits it undid
    assert restored == 3
    assert rows(store, "redacted.customers") == [("a",)]
    latest = DeltaTable(store.uri("redacted", "customers")).history(limit=1)[0]
    assert latest["operation"] == "RESTORE" and latest["govern_rolled_back_run"] == "dead"
    # and there is nothing more to roll back for that run, nor for the run before it
    assert store.roll_back("redacted.customers", "dead", recorded=set()) is None
    assert store.roll_back("redacted.customers", "r1", recorded=set()) is None


def test_a_recorded_commit_a_later_writers_commit_or_a_table_the_run_created_stays(store):
    # given a dead run's recorded commit, and a table it created
    store.publish("redacted", "customers", pa.table({"id": ["a"]}), {"dagster_run_id": "r1"})
    store.publish("redacted", "customers", pa.table({"id": ["b"]}), {"dagster_run_id": "dead"})
    store.publish("features", "f", pa.table({"id": ["x"]}), {"dagster_run_id": "dead"})
    # then neither is rolled back: the first is recorded, the second has no version before it
    assert store.roll_back("redacted.customers", "dead", recorded={1}) is None
    assert store.roll_back("features.f", "dead", recorded=set()) is None
    # and once another run has committed on top of the dead run's commit, it stays too
    store.publish("redacted", "customers", pa.table({"id": ["c"]}), {"dagster_run_id": "r2"})
    assert store.roll_back("redacted.customers", "dead", recorded=set()) is None
    assert rows(store, "redacted.customers") == [("c",)]
