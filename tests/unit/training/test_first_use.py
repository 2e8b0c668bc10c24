"""Processes using one new MLflow store for the first time, at once (a UI run beside a CLI run)."""

from pathlib import Path

from tests.helpers import run_at_once

# Imports first, then waits for the go file, then does what a run's first MLflow step does.
FIRST_USE = """
import sys, time
from pathlib import Path
import mlflow
from pipeline.training.tracking import ensure_experiment, prepare_store
go, store = Path(sys.argv[1]), Path(sys.argv[3])
uri = f"sqlite:///{store / 'mlflow.db'}"
Path(sys.argv[2]).touch()
while not go.exists():
    time.sleep(0.005)
prepare_store(uri, store / "mlflow.lock")
mlflow.set_tracking_uri(uri)
print(ensure_experiment("governed-pipeline", (store / "artifacts").as_uri()))
"""


def test_runs_first_using_a_new_store_at_once_all_get_one_experiment(tmp_path: Path):
    # given a folder with no MLflow store yet
    store = tmp_path / "store"
    store.mkdir()
    # when four processes, imports done, first use it at the same moment
    results = run_at_once(FIRST_USE, tmp_path, str(store))
    # then each created or found the schema and the experiment, and all found the same one
    for result in results:
        assert result.returncode == 0, result.stderr[-2000:]
    assert len({r.stdout.strip() for r in results}) == 1, [r.stdout for r in results]
