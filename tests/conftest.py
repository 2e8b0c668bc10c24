"""Shared fixtures: a throwaway copy of the project with small generated data.

Every test that runs the pipeline gets its own project root, GOVERN_HOME, Delta tables,
DAGSTER_HOME and MLflow store under ``tmp_path``: nothing touches the checkout's ``.govern``.
Tests that only read the result of one plain run of churn share one (``finished_churn_run``).
"""

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from pipeline.runs.runner import RunSummary
from pipeline.samples.churn import write_sample
from tests.helpers import TEST_KEY, lay_out_project, point_at, run_churn

__all__ = ["TEST_KEY"]  # tests import the key from here as well as from tests.helpers


def pytest_configure(config: pytest.Config) -> None:
    """One thread per process for OpenMP (scikit-learn's gradient boosting) and OpenBLAS (numpy,
    spaCy), unless set already: read by the xdist workers, started after this, and by every
    process a test starts. Two workers on two cores, each beside the runs and servers its tests
    start, leave no core for a second thread: it spin-waits at each parallel loop's barrier
    for a thread that is not running. A `govern run --force` beside two busy processes took 28 s
    with two threads, 20.5 s with one; whole-suite runs vary by more than the gain (5 min 11 s
    to 5 min 58 s with one thread, 5 min 50 s to 7 min with two)."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(name, "1")


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated once per session: 800 customers, about 4,000 transactions."""
    out = tmp_path_factory.mktemp("sample")
    write_sample(out, customers=800)
    return out


@pytest.fixture
def project(tmp_path: Path, small_sample: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project root with the template's declarations and the small sample as raw data."""
    root = lay_out_project(tmp_path / "project", small_sample)
    point_at(monkeypatch, root, tmp_path / "govern-home")
    return root


@dataclass(frozen=True)
class FinishedRun:
    """One successful run of the churn dataset on the small sample: its project, run-time
    folder, storage root (``GOVERN_TABLES``, apart from the run-time folder) and summary."""

    project: Path
    home: Path
    tables: Path
    summary: RunSummary


@pytest.fixture(scope="session")
def _churn_run_once(tmp_path_factory: pytest.TempPathFactory, small_sample: Path) -> FinishedRun:
    """The churn job run once per session (per worker), for the tests that only read its result."""
    from pipeline.runs.instance import local_instance

    base = tmp_path_factory.mktemp("churn-run-once")
    project, home, tables = base / "project", base / "govern-home", base / "shared-tables"
    lay_out_project(project, small_sample)
    with pytest.MonkeyPatch.context() as env:
        point_at(env, project, home, tables)
        with local_instance() as instance:
            summary = run_churn(project, instance)
    return FinishedRun(project, home, tables, summary)


def _files(*folders: Path) -> dict[str, tuple[int, int]]:
    return {
        str(path): (path.stat().st_size, path.stat().st_mtime_ns)
        for folder in folders
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def finished_churn_run(
    _churn_run_once: FinishedRun, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FinishedRun]:
    """The session's finished churn run, shared: for tests that only read what it left (the
    summary, tables, Dagster events, MLflow store, OpenLineage events). Any test that changes a
    file of it fails here, since the next test would read that change."""
    run = _churn_run_once
    point_at(monkeypatch, run.project, run.home, run.tables)
    before = _files(run.project, run.home, run.tables)
    yield run
    changed = sorted(set(before.items()) ^ set(_files(run.project, run.home, run.tables).items()))
    assert not changed, f"a test wrote to the shared finished run: {changed[:5]}"


@pytest.fixture
def instance(project: Path) -> Iterator[dg.DagsterInstance]:
    """The same persistent (SQLite) instance `govern run` uses, under the test's GOVERN_HOME."""
    from pipeline.runs.instance import local_instance

    with local_instance() as dagster_instance:
        yield dagster_instance


@pytest.fixture
def edit_file() -> Callable[[Path, str, str], None]:
    def _edit(path: Path, old: str, new: str) -> None:
        text = path.read_text(encoding="utf-8")
        assert old in text, f"fixture edit: {old!r} not found in {path}"
        path.write_text(text.replace(old, new), encoding="utf-8")

    return _edit
