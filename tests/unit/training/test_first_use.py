"""Processes using one new MLflow store for the first time, at once (a UI run beside a CLI run)."""

import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import REPO

# Imports first, then waits for the go file, then does what a run's train step does first.
FIRST_USE = """
import sys, time
from pathlib import Path
import mlflow
from pipeline.training.tracking import ensure_experiment, prepare_store
store, go, ready = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
uri = f"sqlite:///{store / 'mlflow.db'}"
ready.touch()
while not go.exists():
    time.sleep(0.005)
prepare_store(uri, store / "mlflow.lock")
mlflow.set_tracking_uri(uri)
print(ensure_experiment("governed-pipeline", (store / "artifacts").as_uri()))
"""


def test_runs_first_using_a_new_store_at_once_all_get_one_experiment(tmp_path: Path):
    # given a folder with no MLflow store yet
    store, go = tmp_path / "store", tmp_path / "go"
    store.mkdir()
    ready = [tmp_path / f"ready-{n}" for n in range(4)]
    # when four processes, imports done, first use it at the same moment
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", FIRST_USE, str(store), str(go), str(flag)],
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
        time.sleep(0.05)
    go.touch()
    results = [process.communicate(timeout=300) for process in processes]
    # then each created or found the schema and the experiment, and all found the same one
    for process, (_, err) in zip(processes, results, strict=True):
        assert process.returncode == 0, err[-2000:]
    assert len({out.strip() for out, _ in results}) == 1, [out for out, _ in results]
