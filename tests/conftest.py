"""Shared fixtures: a throwaway copy of the project with small generated data.

Every test that runs the pipeline gets its own project root, GOVERN_HOME, Delta tables,
DAGSTER_HOME and MLflow store under ``tmp_path``: nothing touches the checkout's ``.govern``.
"""

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import pytest

from pipeline.samples.churn import write_sample
from tests.helpers import REPO

TEST_KEY = "test-hmac-key-not-secret"


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated once per session: 800 customers, about 4,000 transactions."""
    out = tmp_path_factory.mktemp("sample")
    write_sample(out, customers=800)
    return out


@pytest.fixture
def project(tmp_path: Path, small_sample: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project root with the template's declarations and the small sample as raw data."""
    root = tmp_path / "project"
    for folder in ("datasets", "policies", "expectations"):
        shutil.copytree(REPO / folder, root / folder)
    shutil.copy(REPO / "requirements.lock", root / "requirements.lock")
    (root / "data" / "raw").mkdir(parents=True)
    for csv in small_sample.glob("*.csv"):
        shutil.copy(csv, root / "data" / "raw" / csv.name)
    shutil.copytree(REPO / "data" / "raw" / "readmission", root / "data" / "raw" / "readmission")
    home = tmp_path / "govern-home"
    monkeypatch.setenv("GOVERN_PROJECT_ROOT", str(root))
    monkeypatch.setenv("GOVERN_HOME", str(home))
    monkeypatch.setenv("GOVERN_HMAC_KEY", TEST_KEY)
    for name in (
        "GOVERN_TABLES",
        "DAGSTER_HOME",
        "MLFLOW_TRACKING_URI",
        "GOVERN_MLFLOW_ARTIFACTS",
        "GOVERN_SPACY_MODEL",
    ):
        monkeypatch.delenv(name, raising=False)
    return root


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
